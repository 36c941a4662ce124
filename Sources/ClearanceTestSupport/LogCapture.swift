import Foundation
import Logging
import NIOConcurrencyHelpers

/// Every log line the test process writes, trace and up, from every logger
/// (`LoggingSystem` is bootstrapped once with `CapturingLogHandler`), kept
/// while at least one reader (a running `TestServer`) wants it. A reader
/// gets the lines written between its `begin` and `end`; lines no reader
/// can still ask for are dropped, so memory stays bounded by what running
/// tests log.
public final class LogCapture: Sendable {
    public static let shared = LogCapture()

    /// Installs the capturing handler. `LoggingSystem.bootstrap` may run once
    /// per process; this does it on first use, and before `TestDatabase.logger`.
    public static let bootstrap: Void = {
        LoggingSystem.bootstrap { label in CapturingLogHandler(label: label) }
    }()

    private struct State {
        /// Absolute index of `lines[0]`.
        var base = 0
        var lines: [String] = []
        /// Reader id → absolute index it started at.
        var readers: [Int: Int] = [:]
        var nextReader = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Whether any reader is waiting for lines (else formatting them is wasted).
    var isListening: Bool { state.withLockedValue { !$0.readers.isEmpty } }

    func append(_ line: String) {
        state.withLockedValue { state in
            if !state.readers.isEmpty { state.lines.append(line) }
        }
    }

    /// Starts keeping lines for a new reader.
    public func begin() -> Int {
        _ = Self.bootstrap
        return state.withLockedValue { state in
            let id = state.nextReader
            state.nextReader += 1
            state.readers[id] = state.base + state.lines.count
            return id
        }
    }

    /// The lines written since `begin(reader)`; the reader is done.
    public func end(_ reader: Int) -> [String] {
        state.withLockedValue { state in
            guard let start = state.readers.removeValue(forKey: reader) else { return [] }
            let lines = Array(state.lines[(start - state.base)...])
            let keep = state.readers.values.min() ?? (state.base + state.lines.count)
            state.lines.removeFirst(keep - state.base)
            state.base = keep
            return lines
        }
    }
}

/// Writes each line into `LogCapture.shared`; warnings and worse also to
/// standard error, as the tests' logger did before.
public struct CapturingLogHandler: LogHandler {
    public var label: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let listening = LogCapture.shared.isListening
        guard listening || event.level >= .warning else { return }
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        var text = "\(event.level) \(label): \(event.message)"
        for (key, value) in all.sorted(by: { $0.key < $1.key }) { text += " \(key)=\(value)" }
        if let error = event.error { text += " error=\(String(reflecting: error))" }
        if listening { LogCapture.shared.append(text) }
        if event.level >= .warning { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }
}
