import Foundation
import Hummingbird
import ServiceKit

/// A space's settings with one of its own access tokens (what the console signs in with), as
/// `SpaceTokenAuth` checks it for the CSV uploader: `GET /v1/access-token` (who the token is), and
/// under `/v1/spaces/{space_id}` identity rules, sources (write keys) and access tokens. Every
/// JSON answer is wrapped in `{"data": …}`; the checks and bodies are the admin API's
/// (`SpaceSettings`).
public struct SpaceSettingsAPI: Sendable {
    let directory: SpaceDirectory
    let settings: SpaceSettings
    let auth: SpaceTokenAuth

    public init(directory: SpaceDirectory) {
        self.directory = directory
        settings = SpaceSettings(directory: directory)
        auth = SpaceTokenAuth(spaceForTokenHash: { try await directory.spaceId(forAccessTokenHash: $0) })
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/v1/access-token") { request, _ in
            try JSONBody.response(DataEnvelope(data: try await presentedToken(request)))
        }
        let space = router.group("/v1/spaces/:space_id")
        space.get("/identity-rules") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await settings.identityRules(spaceId: spaceId)))
        }
        space.put("/identity-rules/:type") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await settings.putIdentityRule(spaceId: spaceId, request, context)))
        }
        space.get("/sources") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await directory.listSources(spaceId: spaceId)))
        }
        space.post("/sources") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await settings.createSource(spaceId: spaceId, request)), status: .created)
        }
        space.post("/sources/:source_id/rotate-write-key") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let sourceId = try context.parameters.require("source_id")
            guard let source = try await directory.rotateWriteKey(spaceId: spaceId, sourceId: sourceId) else {
                throw APIError.notFound("no source \(sourceId) in space \(spaceId)")
            }
            return try JSONBody.response(DataEnvelope(data: source))
        }
        space.get("/access-tokens") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await directory.listAccessTokens(spaceId: spaceId)))
        }
        space.post("/access-tokens") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await settings.createAccessToken(spaceId: spaceId, request)), status: .created)
        }
        space.delete("/access-tokens/:token_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let tokenId = try context.parameters.require("token_id")
            // authorizedSpace found the token, so there is one.
            let presentedHash = SpaceTokenAuth.token(request).map(Secrets.hash) ?? ""
            switch try await directory.revokeAccessToken(
                spaceId: spaceId, tokenId: tokenId, presentedHash: presentedHash)
            {
            case .revoked:
                return Response(status: .noContent)
            case .notFound:
                throw APIError.notFound("no access token \(tokenId) in space \(spaceId)")
            case .presentedToken:
                throw APIError.conflict(
                    "access token \(tokenId) is the one this request uses; revoke it with another token of the space")
            }
        }
    }

    /// The token the request presents, as `SpaceTokenAuth` reads it; 401 without one or for an
    /// unknown one.
    private func presentedToken(_ request: Request) async throws -> AccessTokenIdentity {
        guard let token = SpaceTokenAuth.token(request) else {
            throw APIError.unauthorized(
                "a space access token is required: Authorization: Bearer <token>, or as the Basic auth username")
        }
        guard let identity = try await directory.accessToken(hash: Secrets.hash(token)) else {
            throw APIError.unauthorized("invalid access token")
        }
        return identity
    }
}

/// What the admin API and `SpaceSettingsAPI` both do to a space's settings, with the same checks
/// and answers (the admin API sends them unwrapped, `SpaceSettingsAPI` in `{"data": …}`).
struct SpaceSettings: Sendable {
    let directory: SpaceDirectory

    struct NameBody: Decodable { var name: String }

    func identityRules(spaceId: String) async throws -> [AdminAPI.RuleView] {
        try await directory.identifierRules(spaceId: spaceId).map(AdminAPI.RuleView.init)
    }

    /// `PUT …/identity-rules/{type}` with an `AdminAPI.RuleBody`.
    func putIdentityRule(spaceId: String, _ request: Request, _ context: some RequestContext) async throws
        -> AdminAPI.RuleView
    {
        let type = try context.parameters.require("type")
        let body = try await JSONBody.decode(AdminAPI.RuleBody.self, from: request)
        let rule = try AdminAPI.rule(type: type, body: body)
        try await directory.upsert(rule, spaceId: spaceId)
        return AdminAPI.RuleView(rule)
    }

    /// `POST …/sources` `{"name"}`: the source with its write key, shown only here.
    func createSource(spaceId: String, _ request: Request) async throws -> SourceRecord {
        let body = try await JSONBody.decode(NameBody.self, from: request)
        return try await directory.createSource(spaceId: spaceId, name: try AdminAPI.name(body.name))
    }

    /// `POST …/access-tokens` `{"name"}`: the token with its value, shown only here.
    func createAccessToken(spaceId: String, _ request: Request) async throws -> AccessTokenRecord {
        let body = try await JSONBody.decode(NameBody.self, from: request)
        return try await directory.createAccessToken(spaceId: spaceId, name: try AdminAPI.name(body.name))
    }
}
