import Foundation
import SQLKit
import ClearanceDomain

/// An email as the change that causes it queues it.
public struct QueuedEmail: Sendable {
    public var id: String
    public var environment: KeyEnvironment
    public var kind: EmailKind
    /// The session it is about; its key seals the message.
    public var sessionID: String?
    /// Another subject (a KYC profile id) when there is no session.
    public var subjectID: String?
    public var message: MailMessage
    /// `Message-ID` without the angle brackets; fixed at enqueue so a retry
    /// is recognisably the same message.
    public var messageID: String
    public var createdAt: Date

    public init(
        id: String = Identifier.timeOrdered(), environment: KeyEnvironment, kind: EmailKind, sessionID: String?,
        subjectID: String? = nil, message: MailMessage, messageID: String, createdAt: Date
    ) {
        self.id = id
        self.environment = environment
        self.kind = kind
        self.sessionID = sessionID
        self.subjectID = subjectID
        self.message = message
        self.messageID = messageID
        self.createdAt = createdAt
    }
}

/// A claimed email: its message opened, or nil when it was shredded.
public struct ClaimedEmail: Sendable {
    public var id: String
    public var kind: EmailKind
    public var attempts: Int
    public var messageID: String
    public var createdAt: Date
    public var message: MailMessage?
}

public enum EmailOutcome: Sendable, Equatable {
    case sent
    case retry(at: Date, error: String)
    case failed(error: String)
}

/// A row of the outbox as operators and tests see it (no personal data).
public struct EmailStatus: Sendable, Equatable {
    public var id: String
    public var kind: EmailKind
    public var language: String
    public var status: String
    public var attempts: Int
    public var lastError: String?
    public var sessionID: String?
    public var subjectID: String?
    public var createdAt: Date
    public var sentAt: Date?
    /// When the next attempt is due, while the email is pending.
    public var nextAttemptAt: Date?
}

/// The email outbox. Enqueue runs in the caller's transaction; claiming is
/// a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share
/// the queue), and a crashed worker's claims are retaken when it runs out.
public struct SQLEmailOutboxRepository: Sendable {
    let database: any Database
    let sealer: Sealer
    let sessionKeys: SessionKeys

    public init(database: any Database, sealer: Sealer) {
        self.database = database
        self.sealer = sealer
        self.sessionKeys = SessionKeys(sealer: sealer)
    }

    static func context(_ id: String) -> String { "email_outbox.message_sealed:\(id)" }

    public func enqueue(_ email: QueuedEmail, on sql: any SQLDatabase) async throws {
        guard let keySealer = try await sessionKeys.sealer(forSession: email.sessionID, on: sql) else {
            throw StoreError.corrupt("session \(email.sessionID ?? "") has no data key")
        }
        let encoded = try JSONEncoder().encode(email.message)
        let sealed = try keySealer.seal(encoded, context: Self.context(email.id))
        let createdAt = Timestamp.milliseconds(email.createdAt)
        try await sql.raw("""
            INSERT INTO email_outbox (id, environment, kind, session_id, subject_id, language, status, attempts, next_attempt_at,
            message_sealed, message_id, created_at)
            VALUES (\(bind: email.id), \(bind: email.environment.rawValue), \(bind: email.kind.rawValue), \(bind: email.sessionID),
            \(bind: email.subjectID), \(bind: email.message.language), 'pending', 0, \(bind: createdAt), \(bind: sealed),
            \(bind: email.messageID), \(bind: createdAt))
            """).run()
        try await database.announceOnCommit(.emails, on: sql)
    }

    /// When the earliest pending email comes due or an in-flight lease runs
    /// out; nil when nothing waits.
    public func nextDue() async throws -> Date? {
        try await database.read { sql in
            try await sql.raw("""
                SELECT MIN(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_until END) AS due
                FROM email_outbox WHERE status IN ('pending', 'in_flight')
                """).first()?.decode(column: "due", as: Int64?.self).map(Timestamp.date(milliseconds:))
        }
    }

    public func claim(now: Date, lease: TimeInterval, limit: Int) async throws -> [ClaimedEmail] {
        let nowMS = Timestamp.milliseconds(now)
        let leaseMS = Timestamp.milliseconds(now.addingTimeInterval(lease))
        let skipLocked = database.kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction { sql in
            let due = try await sql.raw("""
                SELECT id, kind, session_id, attempts, message_id, message_sealed, created_at FROM email_outbox
                WHERE (status = 'pending' AND next_attempt_at <= \(bind: nowMS))
                   OR (status = 'in_flight' AND lease_until <= \(bind: nowMS))
                ORDER BY next_attempt_at, created_at LIMIT \(bind: limit)\(unsafeRaw: skipLocked)
                """).all()
            var claimed: [ClaimedEmail] = []
            for row in due {
                let id = try row.decode(column: "id", as: String.self)
                try await sql.raw("""
                    UPDATE email_outbox SET status = 'in_flight', lease_until = \(bind: leaseMS) WHERE id = \(bind: id)
                    """).run()
                guard let kind = EmailKind(rawValue: try row.decode(column: "kind", as: String.self)) else {
                    throw StoreError.corrupt("email \(id) kind")
                }
                var message: MailMessage?
                if let sealed = try row.decode(column: "message_sealed", as: Data?.self),
                    let keySealer = try await sessionKeys.sealer(forSession: try row.decode(column: "session_id", as: String?.self), on: sql)
                {
                    message = try JSONDecoder().decode(MailMessage.self, from: try keySealer.open(sealed, context: Self.context(id)))
                }
                claimed.append(
                    ClaimedEmail(
                        id: id, kind: kind, attempts: try row.decode(column: "attempts", as: Int.self),
                        messageID: try row.decode(column: "message_id", as: String.self),
                        createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                        message: message))
            }
            return claimed
        }
    }

    /// Records the attempt's outcome. A sent or failed message's sealed body
    /// is dropped: it is not needed any more and is personal data.
    public func settle(_ email: ClaimedEmail, outcome: EmailOutcome, now: Date) async throws {
        let attempts = email.attempts + 1
        try await database.transaction { sql in
            switch outcome {
            case .sent:
                try await sql.raw("""
                    UPDATE email_outbox SET status = 'sent', attempts = \(bind: attempts), lease_until = NULL, last_error = NULL,
                    message_sealed = NULL, sent_at = \(bind: Timestamp.milliseconds(now)) WHERE id = \(bind: email.id)
                    """).run()
            case .retry(let at, let error):
                try await sql.raw("""
                    UPDATE email_outbox SET status = 'pending', attempts = \(bind: attempts), lease_until = NULL,
                    next_attempt_at = \(bind: Timestamp.milliseconds(at)), last_error = \(bind: error) WHERE id = \(bind: email.id)
                    """).run()
            case .failed(let error):
                try await sql.raw("""
                    UPDATE email_outbox SET status = 'failed', attempts = \(bind: attempts), lease_until = NULL,
                    last_error = \(bind: error), message_sealed = NULL WHERE id = \(bind: email.id)
                    """).run()
            }
        }
    }

    /// A session's (or another subject's) emails, oldest first.
    public func emails(sessionID: String? = nil, subjectID: String? = nil) async throws -> [EmailStatus] {
        try await database.read { sql in
            let rows: [any SQLRow]
            if let sessionID {
                rows = try await sql.raw("SELECT * FROM email_outbox WHERE session_id = \(bind: sessionID) ORDER BY created_at, id").all()
            } else if let subjectID {
                rows = try await sql.raw("SELECT * FROM email_outbox WHERE subject_id = \(bind: subjectID) ORDER BY created_at, id").all()
            } else {
                rows = try await sql.raw("SELECT * FROM email_outbox ORDER BY created_at, id").all()
            }
            return try rows.map { row in
                guard let kind = EmailKind(rawValue: try row.decode(column: "kind", as: String.self)) else {
                    throw StoreError.corrupt("email kind")
                }
                return EmailStatus(
                    id: try row.decode(column: "id", as: String.self), kind: kind,
                    language: try row.decode(column: "language", as: String.self),
                    status: try row.decode(column: "status", as: String.self),
                    attempts: try row.decode(column: "attempts", as: Int.self),
                    lastError: try row.decode(column: "last_error", as: String?.self),
                    sessionID: try row.decode(column: "session_id", as: String?.self),
                    subjectID: try row.decode(column: "subject_id", as: String?.self),
                    createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                    sentAt: try row.decode(column: "sent_at", as: Int64?.self).map(Timestamp.date(milliseconds:)),
                    nextAttemptAt: try row.decode(column: "status", as: String.self) == "pending"
                        ? Timestamp.date(milliseconds: try row.decode(column: "next_attempt_at", as: Int64.self)) : nil)
            }
        }
    }

    /// Counts by status, for tests and metrics.
    public func counts() async throws -> [String: Int] {
        try await database.countsByStatus(in: "email_outbox")
    }
}
