import ArgumentParser
import Foundation
import Logging
import ClearanceDomain
import ClearanceServer
import ClearanceStore

/// Email options of `serve` and `worker`; each also an environment variable.
public struct EmailOptions: ParsableArguments {
    @Option(name: .customLong("smtp-url"), help: "smtp://[user:pass@]host[:port] (STARTTLS) or smtps://… (CLEARANCE_SMTP_URL). Unset: emails are written as .eml files.")
    var smtpURL: String?

    @Option(name: .customLong("smtp-ca-file"), help: "Also trust this CA (PEM) for the SMTP server's certificate (CLEARANCE_SMTP_CA_FILE).")
    var smtpCAFile: String?

    @Option(name: .customLong("email-dir"), help: "Directory for .eml files when no SMTP URL is set (CLEARANCE_EMAIL_DIR, default DATA_DIR/emails).")
    var emailDirectory: String?

    @Option(name: .customLong("email-from"), help: "Sender address of emails (CLEARANCE_EMAIL_FROM, default \(EmailSender.defaultAddress)).")
    var emailFrom: String?

    @Option(name: .customLong("email-from-name"), help: "Sender name of emails: your organisation (CLEARANCE_EMAIL_FROM_NAME, default Clearance).")
    var emailFromName: String?

    public init() {}
}

extension Settings {
    public static func emailSender(flagAddress: String?, flagName: String?, environment: [String: String]) throws -> EmailSender {
        let address = flagAddress ?? environment["CLEARANCE_EMAIL_FROM"] ?? EmailSender.defaultAddress
        guard FieldRules.isEmail(address), address.allSatisfy(\.isASCII) else {
            throw ConfigurationError(setting: "CLEARANCE_EMAIL_FROM", "\(address.debugDescription) is not a plain ASCII email address")
        }
        let name = flagName ?? environment["CLEARANCE_EMAIL_FROM_NAME"] ?? "Clearance"
        guard !name.isEmpty, name.count <= 100, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw ConfigurationError(setting: "CLEARANCE_EMAIL_FROM_NAME", "must be 1 to 100 characters without control characters")
        }
        return EmailSender(name: name, address: address)
    }

    /// SMTP when `CLEARANCE_SMTP_URL` is set, else `.eml` files.
    public static func mailTransport(
        _ options: EmailOptions, dataDirectory: String, environment: [String: String], heloName: String = "clearance.local"
    ) throws -> any MailTransport {
        let caFile = options.smtpCAFile ?? environment["CLEARANCE_SMTP_CA_FILE"]
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigurationError(setting: "CLEARANCE_SMTP_CA_FILE", "cannot read \(caFile)")
        }
        if let text = options.smtpURL ?? environment["CLEARANCE_SMTP_URL"] {
            do {
                var configuration = try SMTPConfiguration.parse(text, caFile: caFile)
                configuration.heloName = heloName
                return try SMTPTransport(configuration: configuration)
            } catch let error as SMTPConfiguration.ParseError {
                throw ConfigurationError(setting: "CLEARANCE_SMTP_URL", error.description)
            } catch {
                throw ConfigurationError(setting: "CLEARANCE_SMTP_CA_FILE", "cannot load TLS settings: \(error)")
            }
        }
        let directory = options.emailDirectory ?? environment["CLEARANCE_EMAIL_DIR"]
            ?? (dataDirectory as NSString).appendingPathComponent("emails")
        return EMLDirectoryTransport(directory: directory)
    }

    /// `CLEARANCE_EMAIL_RETRY_SCALE`: multiplies the retry schedule. For
    /// tests only; never set in production.
    public static func emailRetryScale(environment: [String: String]) throws -> Double {
        guard let text = environment["CLEARANCE_EMAIL_RETRY_SCALE"] else { return 1 }
        guard let value = Double(text), value > 0, value <= 1 else {
            throw ConfigurationError(setting: "CLEARANCE_EMAIL_RETRY_SCALE", "'\(text)' is not a number in (0, 1]")
        }
        return value
    }

    /// The sender and the email delivery worker for `serve` and `worker`;
    /// on a bad setting the store is closed before the error is thrown.
    static func emailDelivery(
        _ options: EmailOptions, storeOptions: StoreOptions, store: ClearanceStore.Store, logger: Logger
    ) async throws -> (EmailSender, EmailDeliveryService) {
        do {
            return try emailDeliveryChecked(options, storeOptions: storeOptions, store: store, logger: logger)
        } catch {
            await store.database.close()
            throw error
        }
    }

    private static func emailDeliveryChecked(
        _ options: EmailOptions, storeOptions: StoreOptions, store: ClearanceStore.Store, logger: Logger
    ) throws -> (EmailSender, EmailDeliveryService) {
        let environment = Runtime.environment
        let dataDirectory = try dataDirectory(flag: storeOptions.dataDirectory, environment: environment)
        // EHLO names the sending domain, as receiving servers expect.
        let sender = try emailSender(flagAddress: options.emailFrom, flagName: options.emailFromName, environment: environment)
        let transport = try mailTransport(
            options, dataDirectory: dataDirectory, environment: environment,
            heloName: sender.address.split(separator: "@").last.map(String.init) ?? "clearance.local")
        let delivery = EmailDeliveryService(
            store: store, transport: transport, retryScale: try emailRetryScale(environment: environment), logger: logger)
        Console.line("clearance: emails go to \(transport.summary)")
        return (sender, delivery)
    }
}
