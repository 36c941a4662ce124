import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP server on 127.0.0.1 that webhook tests deliver to. Each
/// request is recorded and answered as `behaviour` says for its number
/// (0-based): a status, no answer at all (the sender times out), or a
/// dropped connection.
public final class LoopbackReceiver: Sendable {
    public enum Behaviour: Sendable {
        case respond(status: Int, headers: [(String, String)] = [])
        case hang
        case close
    }

    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
        public var receivedAt: Date

        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        public var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        }
    }

    private struct State {
        var requests: [Request] = []
        var inFlight: [String: Int] = [:]
        /// The most requests for one `webhook-id` open at the same time.
        var maxConcurrentPerEvent = 0
    }

    public let port: Int
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(port: Int, channel: any Channel, state: NIOLockedValueBox<State>) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    public static func start(
        _ behaviour: @escaping @Sendable (Int) -> Behaviour = { _ in .respond(status: 200) }
    ) async throws -> LoopbackReceiver {
        let state = NIOLockedValueBox(State())
        let counter = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        Handler(state: state, counter: counter, behaviour: behaviour))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw ReceiverError.noPort }
        return LoopbackReceiver(port: port, channel: channel, state: state)
    }

    public var requests: [Request] { state.withLockedValue { $0.requests } }
    public var maxConcurrentPerEvent: Int { state.withLockedValue { $0.maxConcurrentPerEvent } }

    /// Waits until `count` requests arrived; answers them (fewer on timeout).
    @discardableResult
    public func wait(for count: Int, timeout: Duration = .seconds(60)) async throws -> [Request] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let requests = self.requests
            if requests.count >= count { return requests }
            try await Task.sleep(for: .milliseconds(5))
        }
        return requests
    }

    public func close() async {
        try? await channel.close()
    }

    enum ReceiverError: Error { case noPort }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: NIOLockedValueBox<State>
        let counter: NIOLockedValueBox<Int>
        let behaviour: @Sendable (Int) -> Behaviour
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: NIOLockedValueBox<State>, counter: NIOLockedValueBox<Int>, behaviour: @escaping @Sendable (Int) -> Behaviour) {
            self.state = state
            self.counter = counter
            self.behaviour = behaviour
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let request = Request(
                    method: head.method.rawValue, path: head.uri,
                    headers: head.headers.map { (name: $0.name, value: $0.value) }, body: body, receivedAt: Date())
                let eventID = request.header("webhook-id") ?? ""
                state.withLockedValue { state in
                    state.requests.append(request)
                    state.inFlight[eventID, default: 0] += 1
                    state.maxConcurrentPerEvent = max(state.maxConcurrentPerEvent, state.inFlight[eventID]!)
                }
                let number = counter.withLockedValue { count in
                    defer { count += 1 }
                    return count
                }
                let finish: @Sendable () -> Void = { [state] in
                    state.withLockedValue { $0.inFlight[eventID, default: 1] -= 1 }
                }
                switch behaviour(number) {
                case .respond(let status, let extra):
                    var headers = HTTPHeaders([("content-length", "0")])
                    for (name, value) in extra { headers.add(name: name, value: value) }
                    let responseHead = HTTPResponseHead(
                        version: head.version, status: HTTPResponseStatus(statusCode: status), headers: headers)
                    context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                    finish()
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                case .hang:
                    // Answered never; counted out when the sender gives up.
                    context.channel.closeFuture.whenComplete { _ in finish() }
                case .close:
                    finish()
                    context.close(promise: nil)
                }
                self.head = nil
            }
        }
    }
}
