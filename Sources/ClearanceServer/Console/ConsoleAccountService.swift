import Crypto
import Foundation
import HummingbirdBcrypt
import ClearanceDomain
import ClearanceStore

/// Console users: creation, disabling, sign-in with lock-out, and the
/// server-side sessions behind the cookie. The CLI and the console share it.
public struct ConsoleAccountService: Sendable {
    let store: Store
    let users: ConsoleUserRepository
    let policy: ConsolePolicy

    public init(store: Store, policy: ConsolePolicy = .init()) {
        self.store = store
        self.users = ConsoleUserRepository(database: store.database)
        self.policy = policy
    }

    // MARK: Users

    /// A user-facing refusal (bad email, short password, duplicate).
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    public static let minimumPasswordLength = 12

    public func create(
        email rawEmail: String, displayName: String?, password: String, roles: [ConsoleRole], actor: String, now: Date
    ) async throws -> ConsoleUserRecord {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(" ") else {
            throw Refusal(field: "email", message: "'\(rawEmail)' is not an email address")
        }
        guard password.count >= Self.minimumPasswordLength else {
            throw Refusal(field: "password", message: "must be at least \(Self.minimumPasswordLength) characters")
        }
        guard password.utf8.count <= 72 else {
            // bcrypt reads only the first 72 bytes; a longer one would be silently cut.
            throw Refusal(field: "password", message: "must be at most 72 bytes")
        }
        guard !roles.isEmpty else { throw Refusal(field: "role", message: "give at least one role") }
        if try await users.find(email: email) != nil {
            throw Refusal(field: "email", message: "a console user with this email already exists")
        }
        let user = ConsoleUserRecord(
            id: Identifier.random(), email: email,
            displayName: displayName?.trimmingCharacters(in: .whitespaces).nonEmpty ?? email,
            passwordHash: Bcrypt.hash(password, cost: policy.bcryptCost), roles: Array(Set(roles)).sorted { $0.rawValue < $1.rawValue },
            createdAt: now)
        try await store.database.transaction { [users, store] sql in
            try await users.insert(user, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: actor, action: "console_user.created", subjectType: "console_user", subjectID: user.id,
                    after: ["roles": .array(user.roles.map { .string($0.rawValue) })], requestID: nil),
                at: now, on: sql)
        }
        return user
    }

    public func list() async throws -> [ConsoleUserRecord] { try await users.list() }

    /// Disables a user (by email or id) and ends their sessions; nil when unknown.
    public func disable(_ emailOrID: String, actor: String, now: Date) async throws -> ConsoleUserRecord? {
        let found: ConsoleUserRecord?
        if let byEmail = try await users.find(email: emailOrID) { found = byEmail } else { found = try await users.find(id: emailOrID) }
        guard var user = found else { return nil }
        guard user.disabledAt == nil else { return user }
        try await store.database.transaction { [users, store, user] sql in
            try await users.disable(id: user.id, at: now, on: sql)
            try await store.audit.append(
                AuditEvent(actor: actor, action: "console_user.disabled", subjectType: "console_user", subjectID: user.id, requestID: nil),
                at: now, on: sql)
        }
        user.disabledAt = now
        return user
    }

    /// Ends a lock-out early; false when there is no such user.
    public func unlock(id: String, actor: String, requestID: String?, now: Date) async throws -> Bool {
        guard let user = try await users.find(id: id) else { return false }
        try await store.database.transaction { [users, store] sql in
            try await users.resetFailures(id: user.id, on: sql)
            try await store.audit.append(
                AuditEvent(actor: actor, action: "console_user.unlocked", subjectType: "console_user", subjectID: user.id, requestID: requestID),
                at: now, on: sql)
        }
        return true
    }

    // MARK: Sign-in

    public enum LoginOutcome: Sendable {
        /// The cookie token (shown to the browser only) and the user.
        case signedIn(token: String, user: ConsoleUserRecord)
        /// Wrong email or password; deliberately the same for both.
        case refused
        case locked(until: Date)
    }

    /// Checks the password in constant work whether or not the user exists,
    /// counts failures and locks the account after `policy.lockThreshold`.
    public func login(email: String, password: String, requestID: String?, now: Date) async throws -> LoginOutcome {
        let user = try await users.find(email: email.trimmingCharacters(in: .whitespaces))
        let matches = Bcrypt.verify(password, hash: user?.passwordHash ?? Self.decoyHash)
        guard var user, user.disabledAt == nil else { return .refused }
        if let until = user.lockedUntil {
            if until > now { return .locked(until: until) }
            try await store.database.transaction { [users, user] sql in try await users.resetFailures(id: user.id, on: sql) }
            user.failedLogins = 0
        }
        guard matches else {
            let lockUntil = now.addingTimeInterval(policy.lockDuration)
            let locksNow = user.failedLogins + 1 >= policy.lockThreshold
            try await store.database.transaction { [users, store, user, policy] sql in
                try await users.recordFailure(id: user.id, threshold: policy.lockThreshold, lockUntil: lockUntil, on: sql)
                if locksNow {
                    try await store.audit.append(
                        AuditEvent(
                            actor: "system", action: "console_user.locked", subjectType: "console_user", subjectID: user.id,
                            after: ["locked_until": .string(Timestamp.iso8601(lockUntil))],
                            comment: "\(policy.lockThreshold) failed sign-ins", requestID: requestID),
                        at: now, on: sql)
                }
            }
            return locksNow ? .locked(until: lockUntil) : .refused
        }
        let token = Self.newToken()
        let session = ConsoleSessionRecord(
            tokenHash: Self.hash(token), userID: user.id, environment: .live, createdAt: now, lastSeenAt: now,
            expiresAt: now.addingTimeInterval(policy.absoluteLifetime))
        try await store.database.transaction { [users, store, user] sql in
            try await users.deleteExpiredSessions(now: now, on: sql)
            try await users.recordSuccess(id: user.id, at: now, on: sql)
            try await users.insertSession(session, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: "console:\(user.id)", action: "console_user.signed_in", subjectType: "console_user",
                    subjectID: user.id, requestID: requestID),
                at: now, on: sql)
        }
        return .signedIn(token: token, user: user)
    }

    /// The signed-in user behind a cookie token, or nil when the token is
    /// unknown, expired (absolute or idle) or the user is disabled.
    public func resolve(token: String, now: Date) async throws -> (user: ConsoleUserRecord, session: ConsoleSessionRecord)? {
        let hash = Self.hash(token)
        guard let session = try await users.session(tokenHash: hash) else { return nil }
        guard session.expiresAt > now, now.timeIntervalSince(session.lastSeenAt) < policy.idleTimeout,
            let user = try await users.find(id: session.userID), user.disabledAt == nil
        else {
            try await users.deleteSession(tokenHash: hash)
            return nil
        }
        // Idle time is tracked to the minute, so reads do not each become writes.
        if now.timeIntervalSince(session.lastSeenAt) >= 60 { try await users.touchSession(tokenHash: hash, at: now) }
        return (user, session)
    }

    public func switchEnvironment(token: String, to environment: KeyEnvironment, now: Date) async throws {
        try await users.touchSession(tokenHash: Self.hash(token), at: now, environment: environment)
    }

    public func logout(token: String, userID: String, requestID: String?, now: Date) async throws {
        try await users.deleteSession(tokenHash: Self.hash(token))
        try await store.database.transaction { [store] sql in
            try await store.audit.append(
                AuditEvent(
                    actor: "console:\(userID)", action: "console_user.signed_out", subjectType: "console_user",
                    subjectID: userID, requestID: requestID),
                at: now, on: sql)
        }
    }

    // MARK: Tokens

    static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The CSRF token of a session: derived from the cookie token, so it
    /// needs no storage and dies with the session.
    static func csrfToken(for sessionToken: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("clearance-console-csrf".utf8), using: SymmetricKey(data: Array(sessionToken.utf8)))
        return Base64URL.encode(Array(mac))
    }

    /// Verified against when the email is unknown, so both cases cost one bcrypt.
    static let decoyHash = Bcrypt.hash("clearance decoy password", cost: 12)
}

/// Console security settings.
public struct ConsolePolicy: Sendable {
    public var bcryptCost: UInt8
    public var lockThreshold: Int
    public var lockDuration: TimeInterval
    public var idleTimeout: TimeInterval
    public var absoluteLifetime: TimeInterval

    public init(
        bcryptCost: UInt8 = 12, lockThreshold: Int = 5, lockDuration: TimeInterval = 15 * 60,
        idleTimeout: TimeInterval = 60 * 60, absoluteLifetime: TimeInterval = 12 * 3600
    ) {
        self.bcryptCost = bcryptCost
        self.lockThreshold = lockThreshold
        self.lockDuration = lockDuration
        self.idleTimeout = idleTimeout
        self.absoluteLifetime = absoluteLifetime
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
