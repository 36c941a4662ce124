import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import ClearanceDomain

/// A small SMTP client on SwiftNIO: EHLO, STARTTLS or implicit TLS
/// (certificates verified), AUTH PLAIN or LOGIN, one MAIL/RCPT/DATA with
/// dot-stuffing, QUIT. One connection per message: the volume is low and a
/// fresh connection never inherits a half-broken session.
public struct SMTPTransport: MailTransport {
    let configuration: SMTPConfiguration
    let tls: NIOSSLContext?
    let timeout: Duration

    public init(configuration: SMTPConfiguration, timeout: Duration = .seconds(60)) throws {
        self.configuration = configuration
        self.timeout = timeout
        if configuration.security == .none {
            tls = nil
        } else {
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.minimumTLSVersion = .tlsv12
            if let caFile = configuration.caFile { settings.additionalTrustRoots = [.file(caFile)] }
            tls = try NIOSSLContext(configuration: settings)
        }
    }

    public var summary: String { configuration.summary }

    /// SNI takes names only; for an address, the certificate is checked
    /// against the peer's IP.
    var serverName: String? {
        let host = configuration.host
        return host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
    }

    public func send(from: String, to: String, data: String) async throws {
        let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
        let implicitTLS = configuration.security == .implicitTLS ? tls : nil
        let serverName = serverName
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitTLS {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: implicitTLS, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MailTransportError.temporary("cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        // A stalled server cannot hold the worker: closing the channel ends the conversation.
        let timer = Task { [timeout] in
            try await Task.sleep(for: timeout)
            try? await channel.channel.close()
        }
        defer { timer.cancel() }
        do {
            try await channel.executeThenClose { inbound, outbound in
                var conversation = SMTPConversation(
                    replies: inbound.makeAsyncIterator(), outbound: outbound, channel: channel.channel)
                try await conversation.run(configuration: configuration, tls: tls, serverName: serverName, from: from, to: to, data: data)
            }
        } catch let error as MailTransportError {
            throw error
        } catch {
            throw MailTransportError.temporary("SMTP conversation with \(configuration.host) failed: \(error)")
        }
    }
}

/// One SMTP reply: its code and its lines' text.
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]
    var text: String { "\(code) \(lines.joined(separator: " "))" }
}

/// Groups `NNN-…` continuation lines and the final `NNN …` line into one reply.
final class SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    private var lines: [String] = []
    private var code: Int?

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 8192 { throw Malformed(description: "reply line longer than 8 KiB") }
            return .needMoreData
        }
        var bytes = buffer.readBytes(length: newline - buffer.readerIndex + 1) ?? []
        while let last = bytes.last, last == 10 || last == 13 { bytes.removeLast() }
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(code) else {
            throw Malformed(description: "not an SMTP reply line")
        }
        if let previous = self.code, previous != code { throw Malformed(description: "reply code changed inside a reply") }
        self.code = code
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if bytes.count > 3, bytes[3] == UInt8(ascii: "-") { return .continue }
        context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
        lines = []
        self.code = nil
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData
    }
}

/// The client's side of one session, step by step.
struct SMTPConversation {
    var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel

    /// Stages whose 5xx answer is about this message (refused sender,
    /// unknown recipient, rejected content), so retrying cannot help.
    enum Stage { case session, envelope }

    mutating func read(_ expected: Set<Int>, stage: Stage, what: String) async throws -> SMTPReply {
        guard let reply = try await replies.next() else {
            throw MailTransportError.temporary("the SMTP server closed the connection during \(what)")
        }
        guard expected.contains(reply.code) else {
            let text = "\(what): \(reply.text)"
            if reply.code >= 500 && stage == .envelope { throw MailTransportError.permanent(text) }
            throw MailTransportError.temporary(text)
        }
        return reply
    }

    func write(_ line: String) async throws {
        try await outbound.write(ByteBuffer(string: line + "\r\n"))
    }

    mutating func command(_ line: String, expect: Set<Int>, stage: Stage = .session, what: String) async throws -> SMTPReply {
        try await write(line)
        return try await read(expect, stage: stage, what: what)
    }

    mutating func run(
        configuration: SMTPConfiguration, tls: NIOSSLContext?, serverName: String?, from: String, to: String, data: String
    ) async throws {
        _ = try await read([220], stage: .session, what: "greeting")
        var capabilities = try await command("EHLO \(configuration.heloName)", expect: [250], what: "EHLO").lines
        if configuration.security == .startTLS, let tls {
            guard capabilities.contains(where: { $0.uppercased() == "STARTTLS" }) else {
                throw MailTransportError.temporary("the SMTP server does not offer STARTTLS (use smtps:// or ?starttls=never)")
            }
            _ = try await command("STARTTLS", expect: [220], what: "STARTTLS")
            try await channel.eventLoop.submit { [channel] in
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: tls, serverHostname: serverName), position: .first)
            }.get()
            capabilities = try await command("EHLO \(configuration.heloName)", expect: [250], what: "EHLO after STARTTLS").lines
        }
        if let username = configuration.username {
            let password = configuration.password ?? ""
            let mechanisms = Set(
                capabilities.filter { $0.uppercased().hasPrefix("AUTH ") || $0.uppercased().hasPrefix("AUTH=") }
                    .flatMap { $0.dropFirst(5).uppercased().split(separator: " ").map(String.init) })
            if mechanisms.contains("PLAIN") {
                let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
                _ = try await command("AUTH PLAIN \(token)", expect: [235], what: "AUTH PLAIN")
            } else if mechanisms.contains("LOGIN") {
                _ = try await command("AUTH LOGIN", expect: [334], what: "AUTH LOGIN")
                _ = try await command(Data(username.utf8).base64EncodedString(), expect: [334], what: "AUTH LOGIN user name")
                _ = try await command(Data(password.utf8).base64EncodedString(), expect: [235], what: "AUTH LOGIN password")
            } else {
                throw MailTransportError.temporary("the SMTP server offers neither AUTH PLAIN nor AUTH LOGIN")
            }
        }
        _ = try await command("MAIL FROM:<\(from)>", expect: [250], stage: .envelope, what: "MAIL FROM")
        _ = try await command("RCPT TO:<\(to)>", expect: [250, 251], stage: .envelope, what: "RCPT TO")
        _ = try await command("DATA", expect: [354], stage: .envelope, what: "DATA")
        try await outbound.write(ByteBuffer(string: MIMEBuilder.dotStuffed(data)))
        _ = try await read([250], stage: .envelope, what: "end of DATA")
        // The message is accepted; QUIT is a courtesy.
        try? await write("QUIT")
        _ = try? await replies.next()
    }
}
