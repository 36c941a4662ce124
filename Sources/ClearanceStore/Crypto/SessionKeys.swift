import Foundation
import SQLKit

/// Each session's own data key, wrapped by the data key. Deleting the
/// wrapped copy shreds everything sealed with it.
public struct SessionKeys: Sendable {
    let sealer: Sealer

    static let context = "session_keys:"

    /// What seals a row about `sessionID`: the session's own key (nil once
    /// the session was deleted: crypto-shredded), or the data key's sealer
    /// for a row about no session.
    func sealer(forSession sessionID: String?, on sql: any SQLDatabase) async throws -> Sealer? {
        guard let sessionID else { return sealer }
        return try await self.sealer(for: sessionID, on: sql)
    }

    /// The session's sealer; nil once the session was deleted.
    func sealer(for sessionID: String, on sql: any SQLDatabase) async throws -> Sealer? {
        guard
            let wrapped = try await sql.raw("SELECT wrapped_key FROM session_keys WHERE session_id = \(bind: sessionID)")
                .first()?.decode(column: "wrapped_key", as: Data.self)
        else { return nil }
        return try sealer.openSubjectKey(wrapped, context: Self.context + sessionID)
    }
}
