import Contracts
import Hummingbird
import ServiceKit

/// `/links`, as in Segment: a user's accounts (from its `group` calls), or an account's users, each
/// as `{"to_collection", "external_ids"}`, oldest link first. Merged profiles are in `/metadata`.
extension ProfileAPI {
    /// Segment returns 20 links per page.
    static let defaultLinksLimit = 20

    func links(_ request: Request, profile: ProfileRef) async throws -> Response {
        let limit = try Self.limit(request, default: Self.defaultLinksLimit)
        var afterSeq: Int64 = 0
        if let next = request.uri.queryParameters.get("next") {
            guard let seq = Int64(next), seq >= 0 else {
                throw APIError(.badRequest, code: "validation_error", message: "next is not a cursor this API returned")
            }
            afterSeq = seq
        }
        var rows: [ProfileReader.LinkRow]
        let other: ProfileCollection
        switch profile.collection {
        case .users:
            rows = try await reader.accountLinks(profileId: profile.id, afterSeq: afterSeq, limit: limit)
            other = .accounts
        case .accounts:
            rows = try await reader.userLinks(accountId: profile.id, afterSeq: afterSeq, limit: limit)
            other = .users
        }
        let hasMore = rows.count > limit
        rows = Array(rows.prefix(limit))
        let data: [JSONValue] = rows.map { row in
            [
                "to_collection": .string(other.rawValue),
                "external_ids": .array(row.externalIds.map { Self.externalIdJSON($0, collection: other) }),
            ]
        }
        let next = hasMore ? rows.last.map { String($0.seq) } : nil
        return try JSONBody.response(["data": JSONValue.array(data), "cursor": Self.cursor(request, next: next)])
    }
}
