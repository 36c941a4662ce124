import Foundation
import SQLKit
import ClearanceStore
import ClearanceDomain

/// The organisation settings of the KYC dialect, kept in `settings` as
/// `"true"`/`"false"`; unset is off.
public struct KYCSettings: Sendable, Equatable {
    public static let fourEyesKey = "kyc.four_eyes"
    public static let reviewNotesVisibleKey = "kyc.review_notes_visible"

    /// The submitter of a version may not approve it.
    public var fourEyes: Bool
    /// `reviewNotes` travel to user-facing channels (webhooks, emails);
    /// off, they stay in reviewer answers only.
    public var reviewNotesVisible: Bool

    public init(fourEyes: Bool = false, reviewNotesVisible: Bool = false) {
        self.fourEyes = fourEyes
        self.reviewNotesVisible = reviewNotesVisible
    }

    static func load(_ store: Store, on sql: any SQLDatabase) async throws -> KYCSettings {
        KYCSettings(
            fourEyes: try await store.settings.get(fourEyesKey, on: sql) == "true",
            reviewNotesVisible: try await store.settings.get(reviewNotesVisibleKey, on: sql) == "true")
    }

    public static func load(_ store: Store) async throws -> KYCSettings {
        try await store.database.read { sql in try await load(store, on: sql) }
    }
}

extension KYCService {
    /// Admin: sets the organisation's KYC settings, audited.
    public func updateSettings(
        fourEyes: Bool?, reviewNotesVisible: Bool?, principal: Principal, requestID: String?, now: Date
    ) async throws -> KYCSettings {
        try await store.database.transaction { sql in
            let before = try await KYCSettings.load(store, on: sql)
            for (key, value) in [(KYCSettings.fourEyesKey, fourEyes), (KYCSettings.reviewNotesVisibleKey, reviewNotesVisible)] {
                guard let value else { continue }
                try await store.settings.set(key, value: value ? "true" : "false", at: now, on: sql)
            }
            let after = try await KYCSettings.load(store, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.settings.updated", subjectType: "settings", subjectID: "kyc",
                    before: ["four_eyes": .bool(before.fourEyes), "review_notes_visible": .bool(before.reviewNotesVisible)],
                    after: ["four_eyes": .bool(after.fourEyes), "review_notes_visible": .bool(after.reviewNotesVisible)],
                    requestID: requestID),
                at: now, on: sql)
            return after
        }
    }
}
