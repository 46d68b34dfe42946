import AsyncHTTPClient
import Foundation

/// The APIs scoped to one space: every path is under that space, so a holder of its token (a
/// console session, the CLI) only ever reads and changes that space.
public struct SpaceClient: Sendable {
    public let api: EngageAPI
    public let spaceId: String
    let token: String

    public init(api: EngageAPI, spaceId: String, token: String) {
        self.api = api
        self.spaceId = spaceId
        self.token = token
    }

    /// `/v1/spaces/{id}` on profiles (Segment's layout), `/spaces/{id}` on the others.
    public func base(_ service: EngageService) -> String {
        let space = EngageAPI.segment(spaceId)
        return service == .profiles ? "/v1/spaces/\(space)" : "/spaces/\(space)"
    }

    public func get(_ service: EngageService, _ path: String, query: [(String, String)] = []) async throws
        -> EngageResponse
    {
        try await api.call(service, .GET, base(service) + path, query: query, token: token)
    }

    public func send(
        _ method: EngageMethod, _ service: EngageService, _ path: String, json: Any? = nil,
        query: [(String, String)] = []
    ) async throws -> EngageResponse {
        try await api.call(
            service, method, base(service) + path, query: query, token: token,
            body: try json.map { try EngageBody.object($0) })
    }

    public func send(
        _ method: EngageMethod, _ service: EngageService, _ path: String, body: EngageBody,
        query: [(String, String)] = []
    ) async throws -> EngageResponse {
        try await api.call(service, method, base(service) + path, query: query, token: token, body: body)
    }

    /// A profile's Profile API endpoint (`traits`, `events`, ...) by `type:value`.
    public func profile(_ identifier: String, _ endpoint: String, query: [(String, String)] = []) async throws
        -> EngageResponse
    {
        try await get(
            .profiles, "/collections/users/profiles/\(EngageAPI.segment(identifier))/\(endpoint)", query: query)
    }
}
