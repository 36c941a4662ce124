import Logging
import NIOConcurrencyHelpers
import Testing
@testable import ClearanceCLI

@Suite("Log handler: metadata formatted only for lines written")
struct DeferredMetadataLogHandlerTests {
    /// Records the events it is asked to write, and whether its own metadata was ever set.
    struct Recorder: LogHandler {
        let events: NIOLockedValueBox<[LogEvent]>
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:] {
            didSet { setOnInner.withLockedValue { $0 = true } }
        }
        let setOnInner = NIOLockedValueBox(false)

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { events.withLockedValue { $0.append(event) } }
    }

    @Test func metadataSetOnTheLoggerReachesEveryWrittenLineAndNotTheInnerHandler() {
        let recorder = Recorder(events: NIOLockedValueBox([]))
        var logger = Logger(label: "test", factory: { _ in DeferredMetadataLogHandler(recorder) })
        logger[metadataKey: "request_id"] = "r1"
        logger[metadataKey: "actor"] = "key:k1"
        logger.debug("below the level: not written")
        logger.warning("written", metadata: ["actor": "key:k2", "error": "e"])
        let events = recorder.events.withLockedValue { $0 }
        #expect(events.count == 1)
        #expect(events.first.map { "\($0.message)" } == "written")
        // The logger's entries, and the line's own winning where both name one.
        #expect(events.first?.metadata == ["request_id": "r1", "actor": "key:k2", "error": "e"])
        #expect(logger[metadataKey: "actor"] == "key:k1")
        #expect(!recorder.setOnInner.withLockedValue { $0 }, "setting metadata must not touch the inner handler's")
    }
}
