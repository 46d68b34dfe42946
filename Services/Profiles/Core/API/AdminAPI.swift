import Foundation
import Hummingbird
import ServiceKit

/// Operator endpoints under `/admin`, protected by the admin token (`Authorization: Bearer ...`):
/// spaces, sources (write keys), Profile API access tokens, and identity-resolution rules. A space's
/// own token manages the same settings through `SpaceSettingsAPI` (shared: `SpaceSettings`).
public struct AdminAPI: Sendable {
    let directory: SpaceDirectory
    let settings: SpaceSettings
    let adminToken: String

    public init(directory: SpaceDirectory, adminToken: String) {
        self.directory = directory
        settings = SpaceSettings(directory: directory)
        self.adminToken = adminToken
    }

    struct RuleBody: Decodable {
        var priority: Int
        var limit: Int
        var windowSeconds: Int?
        var traitKey: String?
        var propertyKey: String?
    }

    struct RuleView: Encodable {
        var type: String
        var priority: Int
        var limit: Int
        var windowSeconds: Int?
        var traitKey: String?
        var propertyKey: String?

        init(_ rule: IdentifierRule) {
            type = rule.type
            priority = rule.priority
            limit = rule.limit
            windowSeconds = rule.window.map { Int($0) }
            switch rule.source {
            case .builtIn: break
            case .trait(let key): traitKey = key
            case .property(let key): propertyKey = key
            }
        }
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let admin = router.group("/admin").add(middleware: AdminAuthMiddleware(token: adminToken))
        admin.post("/spaces") { request, _ in
            let body = try await JSONBody.decode(SpaceSettings.NameBody.self, from: request)
            return try JSONBody.response(
                try await directory.createSpace(name: try Self.name(body.name)), status: .created)
        }
        admin.get("/spaces") { _, _ in
            try JSONBody.response(DataEnvelope(data: try await directory.listSpaces()))
        }
        admin.post("/spaces/:space_id/sources") { request, context in
            let spaceId = try await existingSpace(context)
            return try JSONBody.response(try await settings.createSource(spaceId: spaceId, request), status: .created)
        }
        admin.get("/spaces/:space_id/sources") { _, context in
            try JSONBody.response(
                DataEnvelope(data: try await directory.listSources(spaceId: try await existingSpace(context))))
        }
        admin.post("/spaces/:space_id/access-tokens") { request, context in
            let spaceId = try await existingSpace(context)
            return try JSONBody.response(
                try await settings.createAccessToken(spaceId: spaceId, request), status: .created)
        }
        admin.get("/spaces/:space_id/access-tokens") { _, context in
            try JSONBody.response(
                DataEnvelope(data: try await directory.listAccessTokens(spaceId: try await existingSpace(context))))
        }
        admin.get("/spaces/:space_id/identity-rules") { _, context in
            try JSONBody.response(
                DataEnvelope(data: try await settings.identityRules(spaceId: try await existingSpace(context))))
        }
        admin.put("/spaces/:space_id/identity-rules/:type") { request, context in
            let spaceId = try await existingSpace(context)
            return try JSONBody.response(try await settings.putIdentityRule(spaceId: spaceId, request, context))
        }
    }

    private func existingSpace(_ context: some RequestContext) async throws -> String {
        let spaceId = try context.parameters.require("space_id")
        guard try await directory.spaceExists(spaceId) else {
            throw APIError.notFound("space \(spaceId) does not exist")
        }
        return spaceId
    }

    static func name(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw APIError.badRequest("name must be 1 to 200 characters")
        }
        return trimmed
    }

    static let maxWindowSeconds = 100 * 365 * 86_400

    static func rule(type: String, body: RuleBody) throws -> IdentifierRule {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_.")
        guard !type.isEmpty, type.count <= 64, type.allSatisfy({ allowed.contains($0) }) else {
            throw APIError.badRequest("identifier type must be 1 to 64 characters of a-z, 0-9, _ and .")
        }
        guard (1...1_000).contains(body.priority) else { throw APIError.badRequest("priority must be from 1 to 1000") }
        guard (1...1_000).contains(body.limit) else { throw APIError.badRequest("limit must be from 1 to 1000") }
        // Bounded above so that the window survives its trip through TimeInterval and back to Int64.
        if let window = body.windowSeconds, !(60...maxWindowSeconds).contains(window) {
            throw APIError.badRequest("windowSeconds must be from 60 to \(maxWindowSeconds) (100 years)")
        }
        // An empty key is no key, here as below.
        guard (body.traitKey ?? "").isEmpty || (body.propertyKey ?? "").isEmpty else {
            throw APIError.badRequest("set traitKey or propertyKey, not both")
        }
        let source: IdentifierSource
        if let key = body.traitKey, !key.isEmpty {
            source = .trait(key)
        } else if let key = body.propertyKey, !key.isEmpty {
            source = .property(key)
        } else {
            // A custom type without a key is read from context.externalIds only.
            source = .builtIn
        }
        if IdentifierRule.messageFieldTypes.contains(type), source != .builtIn {
            let field = type == "user_id" ? "userId" : "anonymousId"
            throw APIError.badRequest(
                "\(type) is read from the message's \(field); it cannot be read from a trait or property key")
        }
        return IdentifierRule(
            type: type, priority: body.priority, limit: body.limit, window: body.windowSeconds.map { TimeInterval($0) },
            source: source)
    }
}

/// `Authorization: Bearer <admin token>`, compared as hashes so the comparison's time says nothing
/// about the token.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized("the admin token is required as Authorization: Bearer <token>")
        }
        guard Secrets.hash(String(header.dropFirst("Bearer ".count))) == Secrets.hash(token) else {
            throw APIError.unauthorized("invalid admin token")
        }
        return try await next(request, context)
    }
}
