import Logging

/// Keeps a logger's metadata aside and hands it to `inner` with each event,
/// instead of setting it on `inner`. `StreamLogHandler` formats its whole
/// metadata into a string whenever an entry changes, and every request sets
/// two (request id, actor) while the server, at its default level, logs
/// almost nothing per request; handed over with the event, the metadata is
/// formatted only for a line that is written, the same way.
struct DeferredMetadataLogHandler<Inner: LogHandler>: LogHandler {
    private(set) var inner: Inner
    var metadata: Logger.Metadata = [:]

    init(_ inner: Inner) { self.inner = inner }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard !metadata.isEmpty else { return inner.log(event: event) }
        var event = event
        event.metadata = metadata.merging(event.metadata ?? [:]) { _, fromEvent in fromEvent }
        inner.log(event: event)
    }
}
