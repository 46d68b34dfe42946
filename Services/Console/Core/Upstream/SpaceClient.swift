import AsyncHTTPClient
import Foundation

/// The upstream APIs scoped to the signed-in space: every path is under that space, so a session
/// can only ever read and change its own space.
public struct SpaceClient: Sendable {
    let upstream: UpstreamAPI
    public let session: ConsoleSession

    public var spaceId: String { session.spaceId }

    /// `/v1/spaces/{id}` on profiles (Segment's layout), `/spaces/{id}` on the others.
    func base(_ service: UpstreamService) -> String {
        let space = UpstreamAPI.segment(session.spaceId)
        return service == .profiles ? "/v1/spaces/\(space)" : "/spaces/\(space)"
    }

    public func get(_ service: UpstreamService, _ path: String, query: [(String, String)] = []) async throws
        -> UpstreamResponse
    {
        try await upstream.call(service, .GET, base(service) + path, query: query, token: session.token)
    }

    public func send(
        _ method: UpstreamMethod, _ service: UpstreamService, _ path: String, json: Any? = nil,
        query: [(String, String)] = []
    ) async throws -> UpstreamResponse {
        try await upstream.call(
            service, method, base(service) + path, query: query, token: session.token,
            body: try json.map { try UpstreamBody.object($0) })
    }

    public func send(
        _ method: UpstreamMethod, _ service: UpstreamService, _ path: String, body: UpstreamBody,
        query: [(String, String)] = []
    ) async throws -> UpstreamResponse {
        try await upstream.call(service, method, base(service) + path, query: query, token: session.token, body: body)
    }

    /// A profile's Profile API endpoint (`traits`, `events`, ...) by `type:value`.
    public func profile(_ identifier: String, _ endpoint: String, query: [(String, String)] = []) async throws
        -> UpstreamResponse
    {
        try await get(
            .profiles, "/collections/users/profiles/\(UpstreamAPI.segment(identifier))/\(endpoint)", query: query)
    }
}
