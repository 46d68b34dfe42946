import Contracts
import Foundation
import Hummingbird
import Persistence
import ServiceKit

/// `/spaces/{space_id}/broadcasts`: schedule (or send now), list, progress, cancel.
public struct BroadcastsAPI: Sendable {
    let auth: SpaceTokenAuth
    let audiences: AudienceCatalogReplica
    let store: BroadcastStore

    public init(auth: SpaceTokenAuth, audiences: AudienceCatalogReplica, store: BroadcastStore) {
        self.auth = auth
        self.audiences = audiences
        self.store = store
    }

    /// The audience a broadcast names by id or key (as the audiences API takes either); 422 if
    /// there is none, rather than a broadcast that "completes" having sent nothing.
    func audience(spaceId: String, _ idOrKey: String) async throws -> AudienceEntry {
        guard let audience = try await audiences.find(spaceId: spaceId, idOrKey: idOrKey) else {
            throw APIError(
                .unprocessableContent, code: "unknown_audience", message: AudienceCatalogReplica.unknown(idOrKey))
        }
        return audience
    }

    struct CreateBody: Decodable {
        var name: String?
        var audienceId: String?
        var channel: String?
        var templateId: String?
        var templateVersion: Int?
        var purpose: String?
        var group: String?
        var scheduledAt: String?
        var throttlePerMinute: Int?
    }

    struct Estimate: Encodable {
        var audienceId: String
        var audienceKey: String
        var audienceName: String
        var recipients: Int64
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/spaces/:space_id")
        space.post("/broadcasts") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(CreateBody.self, from: request)
            var missing: [String] = []
            for (field, value) in [
                ("name", body.name), ("audienceId", body.audienceId), ("channel", body.channel),
                ("templateId", body.templateId),
            ]
            where value?.trimmingCharacters(in: .whitespaces).isEmpty ?? true {
                missing.append("\(field) is required")
            }
            guard missing.isEmpty else { throw APIError.badRequest(missing.joined(separator: "; ")) }
            guard let channel = SubscriptionChannel(loose: body.channel!) else {
                throw APIError.badRequest("channel must be EMAIL, SMS or WHATSAPP")
            }
            var purpose = MessagePurpose.marketing
            if let text = body.purpose {
                guard let parsed = MessagePurpose(rawValue: text.lowercased()) else {
                    throw APIError.badRequest("purpose must be marketing or transactional")
                }
                purpose = parsed
            }
            var scheduledAt: Date?
            if let text = body.scheduledAt {
                guard let date = Timestamp.parse(text) else {
                    throw APIError.badRequest("scheduledAt must be an ISO-8601 timestamp")
                }
                scheduledAt = date
            }
            if let version = body.templateVersion, version < 1 {
                throw APIError.badRequest("templateVersion must be 1 or more")
            }
            let draft = BroadcastStore.Draft(
                name: body.name!, audienceId: body.audienceId!, channel: channel, templateId: body.templateId!,
                templateVersion: body.templateVersion, purpose: purpose, group: body.group, scheduledAt: scheduledAt,
                throttlePerMinute: body.throttlePerMinute)
            return try JSONBody.response(
                DataEnvelope(data: try await store.create(spaceId: spaceId, draft)), status: .created)
        }
        space.get("/broadcasts") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await store.list(spaceId: spaceId)))
        }
        // How many profiles a broadcast to this audience would reach if it started now.
        space.get("/broadcasts/estimate") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            guard let idOrKey = QueryParameters.string(request, "audienceId") else {
                throw APIError.badRequest("audienceId is required")
            }
            let audience = try await audience(spaceId: spaceId, idOrKey)
            let recipients = try await store.audienceSize(spaceId: spaceId, audienceId: audience.audienceId)
            return try JSONBody.response(
                DataEnvelope(
                    data: Estimate(
                        audienceId: audience.audienceId, audienceKey: audience.audienceKey,
                        audienceName: audience.name, recipients: recipients)))
        }
        space.get("/broadcasts/:id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("id")
            guard let record = try await store.get(spaceId: spaceId, id: id) else {
                throw APIError.notFound("no broadcast \(id) in this space")
            }
            return try JSONBody.response(DataEnvelope(data: record))
        }
        space.post("/broadcasts/:id/cancel") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await store.cancel(spaceId: spaceId, id: try context.parameters.require("id"))))
        }
    }
}
