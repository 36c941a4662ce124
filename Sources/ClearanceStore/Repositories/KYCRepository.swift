import Foundation
import SQLKit
import ClearanceDomain

/// KYC users, versions and action requests. Writes run in the caller's
/// transaction; personal fields are sealed with the user's own key.
public struct KYCRepository: Sendable {
    let database: any Database
    let sealer: Sealer

    public init(database: any Database, sealer: Sealer) {
        self.database = database
        self.sealer = sealer
    }

    static func keyContext(_ userID: String) -> String { "kyc_users.key:\(userID)" }
    static func personalContext(_ userID: String) -> String { "kyc_users.personal:\(userID)" }
    static func namesContext(_ userID: String) -> String { "kyc_users.profile_names:\(userID)" }
    static func dataContext(_ versionID: String) -> String { "kyc_versions.data:\(versionID)" }

    var forUpdate: String { database.kind == .postgres ? " FOR UPDATE" : "" }

    /// The blind index of an identity (nationalId + country), for uniqueness
    /// among approved versions without storing the number in clear.
    public func identityIndex(nationalID: String, country: String) -> String {
        sealer.blindIndex("kyc identity\u{0}\(country)\u{0}\(nationalID.uppercased())")
    }

    // MARK: Users

    public func insertUser(_ user: KYCUserRecord, on sql: any SQLDatabase) async throws {
        let (subject, wrapped) = try sealer.makeSubjectKey(context: Self.keyContext(user.id))
        let personal: JSONValue = [
            "email": .string(user.email), "firstName": user.firstName.map(JSONValue.string) ?? .null,
            "lastName": user.lastName.map(JSONValue.string) ?? .null,
        ]
        try await sql.raw("""
            INSERT INTO kyc_users (id, environment, external_id, wrapped_key, personal_sealed, approved_version_id,
            profile_names_sealed, needs_update, event_sequence, created_at, updated_at)
            VALUES (\(bind: user.id), \(bind: user.environment.rawValue), \(bind: user.externalID), \(bind: wrapped),
            \(bind: try subject.seal(string: personal.canonicalText, context: Self.personalContext(user.id))), NULL, NULL, 0, 0,
            \(bind: Timestamp.milliseconds(user.createdAt)), \(bind: Timestamp.milliseconds(user.updatedAt)))
            """).run()
    }

    public func externalIDTaken(_ externalID: String, environment: KeyEnvironment, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("""
            SELECT id FROM kyc_users WHERE environment = \(bind: environment.rawValue) AND external_id = \(bind: externalID)
            """).first() != nil
    }

    public func user(id: String, environment: KeyEnvironment, on sql: (any SQLDatabase)? = nil) async throws -> KYCUserRecord? {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> KYCUserRecord? {
            try await sql.raw("SELECT * FROM kyc_users WHERE id = \(bind: id) AND environment = \(bind: environment.rawValue)")
                .first().map { try userRecord($0) }
        }
        if let sql { return try await load(sql) }
        return try await database.read(load)
    }

    /// The user's row, locked until the transaction ends: every change to a
    /// profile's versions takes this lock first, so they serialize.
    public func lockUser(id: String, on sql: any SQLDatabase) async throws -> KYCUserRecord? {
        try await sql.raw("SELECT * FROM kyc_users WHERE id = \(bind: id)\(unsafeRaw: forUpdate)").first().map { try userRecord($0) }
    }

    /// The profile part of a user: approved version, synced names, needs-update, event sequence.
    public func saveProfile(_ user: KYCUserRecord, on sql: any SQLDatabase) async throws {
        let subject = try await subjectSealer(user.id, on: sql)
        var names: Data?
        if user.profileFirstName != nil || user.profileLastName != nil {
            let value: JSONValue = [
                "firstName": user.profileFirstName.map(JSONValue.string) ?? .null,
                "lastName": user.profileLastName.map(JSONValue.string) ?? .null,
            ]
            names = try subject.seal(string: value.canonicalText, context: Self.namesContext(user.id))
        }
        try await sql.raw("""
            UPDATE kyc_users SET approved_version_id = \(bind: user.approvedVersionID), profile_names_sealed = \(bind: names),
            needs_update = \(bind: user.needsUpdate ? 1 : 0), event_sequence = \(bind: user.eventSequence),
            updated_at = \(bind: Timestamp.milliseconds(user.updatedAt))
            WHERE id = \(bind: user.id)
            """).run()
    }

    public func users(environment: KeyEnvironment, limit: Int, offset: Int) async throws -> (total: Int, items: [KYCUserRecord]) {
        try await database.read { sql in
            let total = try await sql.raw("SELECT COUNT(*) AS n FROM kyc_users WHERE environment = \(bind: environment.rawValue)")
                .first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.raw("""
                SELECT * FROM kyc_users WHERE environment = \(bind: environment.rawValue)
                ORDER BY created_at DESC, id DESC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return (total, try rows.map { try userRecord($0) })
        }
    }

    func subjectSealer(_ userID: String, on sql: any SQLDatabase) async throws -> Sealer {
        guard let wrapped = try await sql.raw("SELECT wrapped_key FROM kyc_users WHERE id = \(bind: userID)")
            .first()?.decode(column: "wrapped_key", as: Data.self)
        else { throw StoreError.corrupt("kyc user \(userID) has no key") }
        return try sealer.openSubjectKey(wrapped, context: Self.keyContext(userID))
    }

    func userRecord(_ row: any SQLRow) throws -> KYCUserRecord {
        let id = try row.decode(column: "id", as: String.self)
        let subject = try sealer.openSubjectKey(try row.decode(column: "wrapped_key", as: Data.self), context: Self.keyContext(id))
        guard let environment = KeyEnvironment(rawValue: try row.decode(column: "environment", as: String.self)),
            let personal = JSONValue(parsing: try subject.openString(
                try row.decode(column: "personal_sealed", as: Data.self), context: Self.personalContext(id)))
        else { throw StoreError.corrupt("kyc user \(id)") }
        var names: JSONValue?
        if let sealed = try row.decode(column: "profile_names_sealed", as: Data?.self) {
            names = JSONValue(parsing: try subject.openString(sealed, context: Self.namesContext(id)))
        }
        return KYCUserRecord(
            id: id, environment: environment, email: personal["email"]?.stringValue ?? "",
            firstName: personal["firstName"]?.stringValue, lastName: personal["lastName"]?.stringValue,
            externalID: try row.decode(column: "external_id", as: String?.self),
            approvedVersionID: try row.decode(column: "approved_version_id", as: String?.self),
            profileFirstName: names?["firstName"]?.stringValue, profileLastName: names?["lastName"]?.stringValue,
            needsUpdate: try row.decode(column: "needs_update", as: Int.self) != 0,
            eventSequence: try row.decode(column: "event_sequence", as: Int64.self),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp.date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }

    // MARK: Versions

    public func insertVersion(_ version: KYCVersionRecord, on sql: any SQLDatabase) async throws {
        let subject = try await subjectSealer(version.userID, on: sql)
        try await sql.raw("""
            INSERT INTO kyc_versions (id, user_id, version_number, status, data_sealed, required_fields_json, created_at)
            VALUES (\(bind: version.id), \(bind: version.userID), \(bind: version.versionNumber), \(bind: version.status.rawValue),
            \(bind: try subject.seal(string: version.fields.json.canonicalText, context: Self.dataContext(version.id))),
            \(bind: Self.listText(version.requiredFields)), \(bind: Timestamp.milliseconds(version.createdAt)))
            """).run()
        try await saveVersion(version, on: sql)
    }

    /// Writes every mutable column of the version.
    public func saveVersion(_ version: KYCVersionRecord, on sql: any SQLDatabase) async throws {
        let subject = try await subjectSealer(version.userID, on: sql)
        func ms(_ date: Date?) -> Int64? { date.map(Timestamp.milliseconds) }
        try await sql.raw("""
            UPDATE kyc_versions SET status = \(bind: version.status.rawValue),
            data_sealed = \(bind: try subject.seal(string: version.fields.json.canonicalText, context: Self.dataContext(version.id))),
            required_fields_json = \(bind: Self.listText(version.requiredFields)), content_hash = \(bind: version.contentHash),
            submitted_at = \(bind: ms(version.submittedAt)), submitted_by = \(bind: version.submittedBy),
            reviewed_at = \(bind: ms(version.reviewedAt)), reviewed_by = \(bind: version.reviewedBy),
            review_outcome = \(bind: version.reviewOutcome?.rawValue), review_notes = \(bind: version.reviewNotes),
            rejection_reason = \(bind: version.rejectionReason), approved_identity = \(bind: version.approvedIdentity)
            WHERE id = \(bind: version.id)
            """).run()
    }

    public func deleteVersion(id: String, on sql: any SQLDatabase) async throws {
        try await sql.raw("DELETE FROM kyc_documents WHERE version_id = \(bind: id)").run()
        try await sql.raw("DELETE FROM kyc_versions WHERE id = \(bind: id)").run()
    }

    static let versionColumns = """
        v.*, u.environment AS user_environment, u.wrapped_key AS user_key,
        (SELECT COUNT(*) FROM kyc_documents d WHERE d.version_id = v.id) AS documents_count
        """

    /// A version with the environment of its user; nil when there is none.
    public func version(id: String, on sql: (any SQLDatabase)? = nil) async throws -> (KYCVersionRecord, KeyEnvironment)? {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> (KYCVersionRecord, KeyEnvironment)? {
            guard let row = try await sql.raw("""
                SELECT \(unsafeRaw: Self.versionColumns) FROM kyc_versions v JOIN kyc_users u ON u.id = v.user_id
                WHERE v.id = \(bind: id)
                """).first()
            else { return nil }
            guard let environment = KeyEnvironment(rawValue: try row.decode(column: "user_environment", as: String.self)) else {
                throw StoreError.corrupt("kyc version \(id)")
            }
            return (try versionRecord(row), environment)
        }
        if let sql { return try await load(sql) }
        return try await database.read(load)
    }

    public func versions(userID: String, filter: KYCVersionFilter) async throws -> (total: Int, items: [KYCVersionRecord]) {
        try await database.read { sql in
            var statusClause = SQLQueryString("")
            if !filter.statuses.isEmpty {
                statusClause = " AND v.status IN (" + filter.statuses.map { SQLQueryString("\(bind: $0.rawValue)") }.joined(separator: ", ") + ")"
            }
            let total = try await sql.raw("SELECT COUNT(*) AS n FROM kyc_versions v WHERE v.user_id = \(bind: userID)" + statusClause)
                .first()?.decode(column: "n", as: Int.self) ?? 0
            let order = filter.ascending ? "ASC" : "DESC"
            let rows = try await sql.raw("""
                SELECT \(unsafeRaw: Self.versionColumns) FROM kyc_versions v JOIN kyc_users u ON u.id = v.user_id
                WHERE v.user_id = \(bind: userID)
                """ + statusClause + " ORDER BY v.version_number \(unsafeRaw: order) LIMIT \(bind: filter.limit) OFFSET \(bind: filter.offset)")
                .all()
            return (total, try rows.map { try versionRecord($0) })
        }
    }

    /// The user's versions, newest first, inside the caller's transaction.
    public func allVersions(userID: String, on sql: any SQLDatabase) async throws -> [KYCVersionRecord] {
        try await sql.raw("""
            SELECT \(unsafeRaw: Self.versionColumns) FROM kyc_versions v JOIN kyc_users u ON u.id = v.user_id
            WHERE v.user_id = \(bind: userID) ORDER BY v.version_number DESC
            """).all().map { try versionRecord($0) }
    }

    public func latestVersion(userID: String, on sql: (any SQLDatabase)? = nil) async throws -> KYCVersionRecord? {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> KYCVersionRecord? {
            try await sql.raw("""
                SELECT \(unsafeRaw: Self.versionColumns) FROM kyc_versions v JOIN kyc_users u ON u.id = v.user_id
                WHERE v.user_id = \(bind: userID) ORDER BY v.version_number DESC LIMIT 1
                """).first().map { try versionRecord($0) }
        }
        if let sql { return try await load(sql) }
        return try await database.read(load)
    }

    /// Serializes approvals of one identity across users until the
    /// transaction ends (PostgreSQL advisory lock; SQLite's one writer
    /// already does), so the uniqueness check below sees the other's commit.
    public func lockIdentity(_ index: String, on sql: any SQLDatabase) async throws {
        guard database.kind == .postgres else { return }
        try await sql.raw("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: "kyc identity " + index), 0))").run()
    }

    /// True when another user's approved version holds this identity.
    public func identityTaken(_ index: String, otherThan userID: String, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("""
            SELECT id FROM kyc_versions WHERE approved_identity = \(bind: index) AND user_id <> \(bind: userID)
            """).first() != nil
    }

    func versionRecord(_ row: any SQLRow) throws -> KYCVersionRecord {
        let id = try row.decode(column: "id", as: String.self)
        let userID = try row.decode(column: "user_id", as: String.self)
        let subject = try sealer.openSubjectKey(try row.decode(column: "user_key", as: Data.self), context: Self.keyContext(userID))
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Timestamp.date(milliseconds:))
        }
        guard let status = KYCVersionStatus(rawValue: try row.decode(column: "status", as: String.self)),
            let data = JSONValue(parsing: try subject.openString(try row.decode(column: "data_sealed", as: Data.self), context: Self.dataContext(id))),
            let fields = KYCFields(json: data)
        else { throw StoreError.corrupt("kyc version \(id)") }
        return KYCVersionRecord(
            id: id, userID: userID, versionNumber: try row.decode(column: "version_number", as: Int.self), status: status,
            fields: fields, requiredFields: Self.list(try row.decode(column: "required_fields_json", as: String.self)),
            contentHash: try row.decode(column: "content_hash", as: String?.self),
            createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0), submittedAt: try date("submitted_at"),
            submittedBy: try row.decode(column: "submitted_by", as: String?.self), reviewedAt: try date("reviewed_at"),
            reviewedBy: try row.decode(column: "reviewed_by", as: String?.self),
            reviewOutcome: try row.decode(column: "review_outcome", as: String?.self).flatMap(KYCReviewOutcome.init(rawValue:)),
            reviewNotes: try row.decode(column: "review_notes", as: String?.self),
            rejectionReason: try row.decode(column: "rejection_reason", as: String?.self),
            approvedIdentity: try row.decode(column: "approved_identity", as: String?.self),
            documentsCount: try row.decode(column: "documents_count", as: Int.self))
    }

    static func listText(_ values: [String]) -> String { JSONValue.array(values.map(JSONValue.string)).canonicalText }

    static func list(_ text: String) -> [String] {
        guard case .array(let items) = JSONValue(parsing: text) else { return [] }
        return items.compactMap(\.stringValue)
    }

    /// Type and SHA-256 of each document of a version: what `contentHash` covers.
    public func documentDigests(versionID: String, on sql: any SQLDatabase) async throws -> [KYCContentHash.Document] {
        try await sql.raw("SELECT type, sha256 FROM kyc_documents WHERE version_id = \(bind: versionID)").all().map {
            KYCContentHash.Document(type: try $0.decode(column: "type", as: String.self), sha256: try $0.decode(column: "sha256", as: String.self))
        }
    }

    // MARK: Action requests

    public func insertActionRequest(_ request: KYCActionRequestRecord, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO kyc_action_requests (id, user_id, version_id, status, reason, required_fields_json, due_at,
            requested_at, requested_by, resolved_at)
            VALUES (\(bind: request.id), \(bind: request.userID), \(bind: request.versionID), \(bind: request.status.rawValue),
            \(bind: request.reason), \(bind: Self.listText(request.requiredFields)), \(bind: request.dueAt.map(Timestamp.milliseconds)),
            \(bind: Timestamp.milliseconds(request.requestedAt)), \(bind: request.requestedBy),
            \(bind: request.resolvedAt.map(Timestamp.milliseconds)))
            """).run()
    }

    /// Moves every open request of the user (or of one version) to `status`;
    /// answers the requests as they were before.
    @discardableResult
    public func resolveOpenRequests(
        userID: String, versionID: String? = nil, to status: KYCActionRequestStatus, at: Date, on sql: any SQLDatabase
    ) async throws -> [KYCActionRequestRecord] {
        let open = try await actionRequests(userID: userID, status: .open, on: sql).filter { versionID == nil || $0.versionID == versionID }
        for request in open {
            try await sql.raw("""
                UPDATE kyc_action_requests SET status = \(bind: status.rawValue), resolved_at = \(bind: Timestamp.milliseconds(at))
                WHERE id = \(bind: request.id) AND status = 'open'
                """).run()
        }
        return open
    }

    public func actionRequests(userID: String, status: KYCActionRequestStatus?, on sql: any SQLDatabase) async throws -> [KYCActionRequestRecord] {
        var query = SQLQueryString("SELECT * FROM kyc_action_requests WHERE user_id = \(bind: userID)")
        if let status { query = query + " AND status = \(bind: status.rawValue)" }
        return try await sql.raw(query + " ORDER BY requested_at DESC, id DESC").all().map(Self.actionRequestRecord)
    }

    public func actionRequest(id: String) async throws -> (KYCActionRequestRecord, KeyEnvironment)? {
        try await database.read { sql in
            guard let row = try await sql.raw("""
                SELECT r.*, u.environment AS user_environment FROM kyc_action_requests r JOIN kyc_users u ON u.id = r.user_id
                WHERE r.id = \(bind: id)
                """).first(),
                let environment = KeyEnvironment(rawValue: try row.decode(column: "user_environment", as: String.self))
            else { return nil }
            return (try Self.actionRequestRecord(row), environment)
        }
    }

    public func listActionRequests(
        environment: KeyEnvironment, status: KYCActionRequestStatus?, userID: String?, limit: Int, offset: Int
    ) async throws -> (total: Int, items: [KYCActionRequestRecord]) {
        try await database.read { sql in
            var filter = SQLQueryString(" FROM kyc_action_requests r JOIN kyc_users u ON u.id = r.user_id WHERE u.environment = \(bind: environment.rawValue)")
            if let status { filter = filter + " AND r.status = \(bind: status.rawValue)" }
            if let userID { filter = filter + " AND r.user_id = \(bind: userID)" }
            let total = try await sql.raw("SELECT COUNT(*) AS n" + filter).first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.raw("SELECT r.*" + filter + " ORDER BY r.requested_at DESC, r.id DESC LIMIT \(bind: limit) OFFSET \(bind: offset)").all()
            return (total, try rows.map(Self.actionRequestRecord))
        }
    }

    /// Open requests whose `dueAt` has passed: candidates only; `expire`
    /// decides, so two sweeping processes never expire one twice.
    public func dueActionRequests(now: Date, limit: Int, on sql: any SQLDatabase) async throws -> [KYCActionRequestRecord] {
        try await sql.raw("""
            SELECT * FROM kyc_action_requests WHERE status = 'open' AND due_at <= \(bind: Timestamp.milliseconds(now))
            ORDER BY due_at LIMIT \(bind: limit)
            """).all().map(Self.actionRequestRecord)
    }

    /// Open → expired when still open and due; true when this call did it.
    public func expire(requestID: String, now: Date, on sql: any SQLDatabase) async throws -> Bool {
        let ms = Timestamp.milliseconds(now)
        return try await !sql.raw("""
            UPDATE kyc_action_requests SET status = 'expired', resolved_at = \(bind: ms)
            WHERE id = \(bind: requestID) AND status = 'open' AND due_at <= \(bind: ms) RETURNING id
            """).all().isEmpty
    }

    static func actionRequestRecord(_ row: any SQLRow) throws -> KYCActionRequestRecord {
        let id = try row.decode(column: "id", as: String.self)
        guard let status = KYCActionRequestStatus(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw StoreError.corrupt("kyc action request \(id)")
        }
        return KYCActionRequestRecord(
            id: id, userID: try row.decode(column: "user_id", as: String.self),
            versionID: try row.decode(column: "version_id", as: String.self), status: status,
            reason: try row.decode(column: "reason", as: String.self),
            requiredFields: list(try row.decode(column: "required_fields_json", as: String.self)),
            dueAt: try row.decode(column: "due_at", as: Int64?.self).map(Timestamp.date(milliseconds:)),
            requestedAt: Timestamp.date(milliseconds: try row.decode(column: "requested_at", as: Int64.self)),
            requestedBy: try row.decode(column: "requested_by", as: String.self),
            resolvedAt: try row.decode(column: "resolved_at", as: Int64?.self).map(Timestamp.date(milliseconds:)))
    }
}
