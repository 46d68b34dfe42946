import Foundation
import Hummingbird
import Persistence

/// Authenticates space-scoped API calls with a space access token (created in the profiles
/// service's admin API): `Authorization: Bearer <token>`, or Segment's style, the token as the
/// Basic-auth username. Profiles looks tokens up in its own tables; the other services in their
/// replica of `engage.spaces`.
public struct SpaceTokenAuth: Sendable {
    let spaceForTokenHash: @Sendable (String) async throws -> String?
    let unknownTokenMessage: String

    public init(
        spaceForTokenHash: @escaping @Sendable (String) async throws -> String?,
        unknownTokenMessage: String = "invalid access token"
    ) {
        self.spaceForTokenHash = spaceForTokenHash
        self.unknownTokenMessage = unknownTokenMessage
    }

    /// For services that learn tokens through `engage.spaces`.
    public init(replica: SpaceAccessReplica) {
        self.init(
            spaceForTokenHash: { try await replica.spaceId(forTokenHash: $0) },
            unknownTokenMessage:
                "invalid access token (a token created moments ago may take a few seconds to reach this service)")
    }

    /// The token from the request, or nil.
    public static func token(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimmingCharacters(in: .whitespaces)
                return token.isEmpty ? nil : token
            }
        }
        return BasicAuth.username(request)
    }

    /// The `space_id` route parameter, once the request's token is checked to open that space.
    public func authorizedSpace(_ request: Request, _ context: some RequestContext) async throws -> String {
        let spaceId = try context.parameters.require("space_id")
        try await authorize(request, spaceId: spaceId)
        return spaceId
    }

    /// Checks that the request's token opens `spaceId`: 401 without a valid token, 403 for another space.
    public func authorize(_ request: Request, spaceId: String) async throws {
        guard let token = Self.token(request) else {
            throw APIError.unauthorized(
                "a space access token is required: Authorization: Bearer <token>, or as the Basic auth username")
        }
        guard let tokenSpace = try await spaceForTokenHash(Secrets.hash(token)) else {
            throw APIError.unauthorized(unknownTokenMessage)
        }
        guard tokenSpace == spaceId else {
            throw APIError(
                .forbidden, code: "forbidden", message: "this access token does not belong to space \(spaceId)")
        }
    }
}
