import ClearanceStore
import Foundation
import ClearanceDomain

/// Why a send did not succeed, as the outbox must treat it.
public enum MailTransportError: Error, CustomStringConvertible, Equatable {
    /// This message will never be accepted as it is (a 5xx reply to the
    /// envelope or the data: unknown recipient, message refused).
    case permanent(String)
    /// Worth another try later: connection refused or lost, a timeout, a
    /// 4xx reply, a TLS or authentication problem an operator can fix.
    case temporary(String)

    public var description: String {
        switch self {
        case .permanent(let text), .temporary(let text): text
        }
    }
}

/// Something that can send one finished message.
public protocol MailTransport: Sendable {
    /// `data` is the complete RFC 5322 message with CRLF line ends.
    func send(from: String, to: String, data: String) async throws
    /// Where mail goes, for the startup line (no secrets).
    var summary: String { get }
}

/// The embedded default: each message becomes an `.eml` file in a
/// directory, so a fresh install sends nothing anywhere by accident. Files
/// are created 0600 (they hold personal data) and appear atomically.
public struct EMLDirectoryTransport: MailTransport {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var summary: String { "files in \(directory)" }

    public func send(from: String, to: String, data: String) async throws {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw MailTransportError.temporary("cannot create \(directory): \(error.localizedDescription)")
        }
        let stamp = Timestamp.milliseconds(Date())
        let name = "\(stamp)-\(Identifier.random()).eml"
        let final = (directory as NSString).appendingPathComponent(name)
        let temporary = (directory as NSString).appendingPathComponent(".\(name).tmp")
        guard FileManager.default.createFile(atPath: temporary, contents: Data(data.utf8), attributes: [.posixPermissions: 0o600])
        else { throw MailTransportError.temporary("cannot write \(temporary)") }
        guard rename(temporary, final) == 0 else {
            unlink(temporary)
            throw MailTransportError.temporary("cannot rename into \(final)")
        }
    }
}
