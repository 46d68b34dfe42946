import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// Segment's Profile API over both collections, `users` and `accounts`:
/// `GET /v1/spaces/{space_id}/collections/{collection}/profiles/{type}:{value}/{endpoint}`, endpoint one of
/// `traits`, `external_ids`, `events`, `metadata`, `links`; a space access token is the Basic-auth username.
public struct ProfileAPI: Sendable {
    let directory: SpaceDirectory
    let reader: ProfileReader
    let limiter: RateLimiter

    /// `requestsPerSecond` per space, as Segment's Profile API allows (100 by default).
    public init(directory: SpaceDirectory, reader: ProfileReader, requestsPerSecond: Double = 100) {
        self.directory = directory
        self.reader = reader
        self.limiter = RateLimiter(rate: requestsPerSecond)
    }

    static let maxLimit = 200

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let base = "/v1/spaces/:space_id/collections/:collection/profiles/:identifier"
        router.get(RouterPath(base + "/traits")) { request, context in
            try await self.traits(request, profile: try await self.profile(request, context))
        }
        router.get(RouterPath(base + "/external_ids")) { request, context in
            try await self.externalIds(request, profile: try await self.profile(request, context))
        }
        router.get(RouterPath(base + "/events")) { request, context in
            try await self.events(request, profile: try await self.profile(request, context))
        }
        router.get(RouterPath(base + "/metadata")) { request, context in
            try await self.metadata(profile: try await self.profile(request, context))
        }
        router.get(RouterPath(base + "/links")) { request, context in
            try await self.links(request, profile: try await self.profile(request, context))
        }
    }

    /// Authenticates and finds the canonical profile named by the path, or answers 401/403/404.
    private func profile<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> ProfileRef {
        let spaceId = try context.parameters.require("space_id")
        guard let token = BasicAuth.username(request) else {
            throw APIError.unauthorized("an access token is required as the Basic auth username")
        }
        guard let tokenSpace = try await directory.spaceId(forAccessToken: token) else {
            throw APIError.unauthorized("invalid access token")
        }
        guard tokenSpace == spaceId else {
            throw APIError(
                .forbidden, code: "forbidden", message: "this access token does not belong to space \(spaceId)")
        }
        if let wait = limiter.check(spaceId) {
            throw APIError(
                .tooManyRequests, code: "rate_limit_error",
                message: "more than \(Int(limiter.rate)) requests per second for this space",
                headers: [.retryAfter: String(max(1, Int(wait.rounded(.up))))])
        }
        let collectionName = try context.parameters.require("collection")
        guard let collection = ProfileCollection(rawValue: collectionName) else {
            throw APIError.notFound("there is no collection \"\(collectionName)\"; collections are users and accounts")
        }
        let raw = try context.parameters.require("identifier")
        let decoded = raw.removingPercentEncoding ?? raw
        guard let colon = decoded.firstIndex(of: ":"), colon != decoded.startIndex else {
            throw APIError.notFound("Profile was not found.")
        }
        let type = decoded[..<colon].lowercased()
        let value = String(decoded[decoded.index(after: colon)...])
        guard !value.isEmpty else { throw APIError.notFound("Profile was not found.") }
        let id: String?
        switch collection {
        case .users: id = try await reader.profileId(spaceId: spaceId, type: type, value: value)
        case .accounts: id = try await reader.accountId(spaceId: spaceId, type: type, value: value)
        }
        guard let id else { throw APIError.notFound("Profile was not found.") }
        return ProfileRef(collection, id)
    }

    static func limit(_ request: Request, default defaultLimit: Int = 10) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return defaultLimit }
        guard let value = Int(text), value >= 1, value <= maxLimit else {
            throw APIError(
                .badRequest, code: "validation_error", message: "limit must be an integer from 1 to \(maxLimit)")
        }
        return value
    }

    static func list(_ request: Request, _ name: String) -> [String]? {
        guard let text = request.uri.queryParameters.get(name), !text.isEmpty else { return nil }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func cursor(_ request: Request, next: String?) -> JSONValue {
        var url = ""
        if let next {
            var components = URLComponents()
            components.path = request.uri.path
            var items = request.uri.queryParameters.filter { $0.key != "next" }.map {
                URLQueryItem(name: String($0.key), value: String($0.value))
            }
            items.append(URLQueryItem(name: "next", value: next))
            components.queryItems = items
            url = components.string ?? ""
        }
        return ["url": .string(url), "has_more": .bool(next != nil), "next": .string(next ?? "")]
    }

    private func traits(_ request: Request, profile: ProfileRef) async throws -> Response {
        let limit = try Self.limit(request)
        let verbose = request.uri.queryParameters.get("verbose") == "true"
        var rows = try await reader.traits(
            of: profile, include: Self.list(request, "include"),
            afterKey: request.uri.queryParameters.get("next").map { String($0) }, limit: limit)
        let hasMore = rows.count > limit
        rows = Array(rows.prefix(limit))
        var traits: [String: JSONValue] = [:]
        for row in rows {
            traits[row.key] =
                verbose
                ? [
                    "value": row.value, "source_id": row.sourceId.map(JSONValue.string) ?? .null,
                    "updated_at": .string(Timestamp.format(row.updatedAt)),
                ]
                : row.value
        }
        return try JSONBody.response([
            "traits": JSONValue.object(traits), "cursor": Self.cursor(request, next: hasMore ? rows.last?.key : nil),
        ])
    }

    private func externalIds(_ request: Request, profile: ProfileRef) async throws -> Response {
        let limit = try Self.limit(request, default: 25)
        var offset = 0
        if let next = request.uri.queryParameters.get("next") {
            // The cursor this endpoint hands out is an offset; anything else is not one of its cursors.
            guard let value = Int(next), value >= 0 else {
                throw APIError(.badRequest, code: "validation_error", message: "next is not a cursor this API returned")
            }
            offset = value
        }
        let include = Self.list(request, "include")
        var rows: [ProfileReader.ExternalIdRow]
        switch profile.collection {
        case .users:
            rows = try await reader.externalIds(profileId: profile.id, include: include, offset: offset, limit: limit)
        case .accounts:
            // An account has one external id, its group_id.
            rows = []
            if offset == 0, include?.contains("group_id") ?? true,
                let groupId = try await reader.accountExternalId(accountId: profile.id)
            {
                rows = [groupId]
            }
        }
        let hasMore = rows.count > limit
        rows = Array(rows.prefix(limit))
        let data = rows.map { Self.externalIdJSON($0, collection: profile.collection) }
        return try JSONBody.response([
            "data": JSONValue.array(data), "cursor": Self.cursor(request, next: hasMore ? String(offset + limit) : nil),
        ])
    }

    /// One external id as Segment shows it.
    static func externalIdJSON(_ row: ProfileReader.ExternalIdRow, collection: ProfileCollection) -> JSONValue {
        [
            "source_id": row.sourceId.map(JSONValue.string) ?? .null, "collection": .string(collection.rawValue),
            "id": .string(row.id), "type": .string(row.type), "created_at": .string(Timestamp.format(row.createdAt)),
            "encoding": "none", "first_message_id": row.firstMessageId.map(JSONValue.string) ?? .null,
        ]
    }

    private func events(_ request: Request, profile: ProfileRef) async throws -> Response {
        let parameters = request.uri.queryParameters
        func date(_ name: String) throws -> Date? {
            guard let text = parameters.get(name) else { return nil }
            guard let value = Timestamp.parse(String(text)) else {
                throw APIError(.badRequest, code: "validation_error", message: "\(name) must be an ISO-8601 timestamp")
            }
            return value
        }
        let sort = parameters.get("sort").map { String($0) } ?? "desc"
        guard sort == "asc" || sort == "desc" else {
            throw APIError(.badRequest, code: "validation_error", message: "sort must be asc or desc")
        }
        var after: (Int64, Int64)?
        if let next = parameters.get("next") {
            let parts = next.split(separator: "_")
            guard parts.count == 2, let micros = Int64(parts[0]), let seq = Int64(parts[1]) else {
                throw APIError(.badRequest, code: "validation_error", message: "next is not a cursor this API returned")
            }
            after = (micros, seq)
        }
        let limit = try Self.limit(request)
        let query = ProfileReader.EventQuery(
            start: try date("start"), end: try date("end"), include: Self.list(request, "include"),
            exclude: Self.list(request, "exclude"), ascending: sort == "asc", after: after, limit: limit)
        var rows = try await reader.events(of: profile, query: query)
        let hasMore = rows.count > limit
        rows = Array(rows.prefix(limit))
        let data = rows.map(Self.eventJSON)
        let next = hasMore ? rows.last.map { "\($0.micros)_\($0.seq)" } : nil
        return try JSONBody.response(["data": JSONValue.array(data), "cursor": Self.cursor(request, next: next)])
    }

    static func eventJSON(_ row: ProfileReader.EventRow) -> JSONValue {
        let message = row.message
        var externalIds: [JSONValue] = []
        if let userId = message.userId {
            externalIds.append(["collection": "users", "type": "user_id", "id": .string(userId), "encoding": "none"])
        }
        if let anonymousId = message.anonymousId {
            externalIds.append([
                "collection": "users", "type": "anonymous_id", "id": .string(anonymousId), "encoding": "none",
            ])
        }
        var object: [String: JSONValue] = [
            "external_ids": .array(externalIds), "context": .object(message.context ?? [:]),
            "type": .string(message.type.rawValue),
            "message_id": .string(message.messageId), "source_id": .string(row.sourceId),
            "timestamp": .string(Timestamp.format(message.timestamp)), "related": ["users": .string(row.profileId)],
        ]
        if let event = message.event { object["event"] = .string(event) }
        if let name = message.name { object["name"] = .string(name) }
        if let properties = message.properties { object["properties"] = .object(properties) }
        if let traits = message.traits { object["traits"] = .object(traits) }
        return .object(object)
    }

    /// Segment's metadata, plus the profile's canonical id (`profile_id`) and, for a user, the
    /// profiles merged into it (`merged_profiles`): asked by a merged-away id, it names the survivor.
    private func metadata(profile: ProfileRef) async throws -> Response {
        guard let metadata = try await reader.metadata(of: profile) else {
            throw APIError.notFound("Profile was not found.")
        }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        var object: [String: JSONValue] = [
            "profile_id": .string(profile.id),
            "created_at": .string(Timestamp.format(metadata.createdAt)),
            "updated_at": .string(Timestamp.format(metadata.updatedAt)),
            "expires_at": .null, "first_message_id": text(metadata.firstMessageId),
            "first_source_id": text(metadata.firstSourceId),
            "last_message_id": text(metadata.lastMessageId), "last_source_id": text(metadata.lastSourceId),
        ]
        if profile.collection == .users {
            let merges = try await reader.merges(into: profile.id)
            object["merged_profiles"] = .array(
                merges.map { merge in
                    [
                        "profile_id": .string(merge.profileId), "merged_at": .string(Timestamp.format(merge.mergedAt)),
                        "message_id": text(merge.messageId),
                    ]
                })
        }
        return try JSONBody.response(["metadata": JSONValue.object(object)])
    }
}
