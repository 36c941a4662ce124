import SQLKit

/// One numbered schema change. Each lives in its own file, `NNNN_Name.swift`,
/// written once with SQLKit's builders so the same change applies to SQLite
/// and PostgreSQL. A migration, once released, is never edited: a later one
/// changes what it made.
public protocol Migration: Sendable {
    var version: Int { get }
    var name: String { get }
    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws
}

/// Every migration this binary knows, in order. Append only.
public enum Migrations {
    public static let all: [any Migration] = [
        M0001_CreateSettings(),
        M0002_CreateAuditLog(),
        M0003_CreateAPIKeys(),
        M0004_CreateIdempotencyKeys(),
        M0005_CreateWorkflows(),
        M0006_CreateSessions(),
        M0007_CreateWebhookDestinations(),
        M0008_CreateWebhookOutbox(),
        M0009_CreateWebhookAttempts(),
        M0010_CreateKYC(),
        M0011_CreateKYCAttestations(),
        M0012_IndexWebhookLeases(),
        M0020_CreateEmailOutbox(),
        // 0030–0039: the reviewer console.
        M0030_CreateConsoleUsers(),
        M0031_CreateConsoleSessions(),
        M0032_CreateReviewAssignments(),
        M0033_CreateKYCReviewAssignments(),
        // 0040–0049: reliability.
        M0040_AddIdempotencyClaimTokens(),
        M0041_WaiveDocumentExpiry(),
    ]

    public static var latestVersion: Int { all.map(\.version).max() ?? 0 }
}
