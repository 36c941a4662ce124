import Hummingbird
import ClearanceDomain

/// Per-request state every route can read: the request id and, behind the
/// authentication middleware, who is calling.
public struct ClearanceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    public var principal: Principal?
    /// Set from the server configuration by `BodyLimitMiddleware`.
    public var bodyLimit: Int = ServerConfiguration.defaultBodyLimit

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { bodyLimit }

    /// The authenticated caller; 401 when there is none.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthenticated() }
        return principal
    }

    /// The caller, who must hold `privilege` (403 otherwise).
    @discardableResult
    public func require(_ privilege: Privilege) throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.has(privilege) else { throw APIError.missingPrivilege(privilege) }
        return principal
    }

    /// The caller, who must hold one of `roles` (403 otherwise).
    @discardableResult
    public func require(anyOf roles: [Role]) throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.hasAny(of: roles) else { throw APIError.missingRole(roles) }
        return principal
    }
}
