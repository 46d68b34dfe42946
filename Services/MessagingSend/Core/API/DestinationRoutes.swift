import Contracts
import Foundation
import Hummingbird
import Persistence
import ServiceKit

/// `/spaces/{space_id}/messaging-destinations`: Engage's Messaging destination. An audience (by id
/// or key) connected to Send SMS / Send WhatsApp / Send Email actions fired on entry or exit.
struct DestinationRoutes: Sendable {
    let auth: SpaceTokenAuth
    let destinations: DestinationStore
    let audiences: AudienceCatalogReplica
    let templates: TemplateStore
    let onQueued: @Sendable () -> Void

    /// A destination as the API shows it: with its audience's key and name, and on a save, how many
    /// messages connecting it queued for existing members.
    struct View: Encodable {
        var destination: MessagingDestination
        var audience: AudienceEntry?
        var queuedForExistingMembers: Int?

        func encode(to encoder: any Encoder) throws {
            try destination.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(audience?.audienceKey, forKey: .audienceKey)
            try container.encodeIfPresent(audience?.name, forKey: .audienceName)
            try container.encodeIfPresent(queuedForExistingMembers, forKey: .queuedForExistingMembers)
        }

        enum Keys: String, CodingKey { case audienceKey, audienceName, queuedForExistingMembers }
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/spaces/:space_id")
        space.post("/messaging-destinations") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let (draft, audience) = try await checked(spaceId: spaceId, request: request, existing: [])
            guard
                let (saved, queued) = try await destinations.save(
                    spaceId: spaceId, id: nil, draft: draft, audienceId: audience.audienceId)
            else {
                throw APIError.notFound("destination vanished")
            }
            if queued > 0 { onQueued() }
            return try JSONBody.response(
                DataEnvelope(data: View(destination: saved, audience: audience, queuedForExistingMembers: queued)),
                status: .created)
        }
        space.get("/messaging-destinations") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            var views: [View] = []
            for destination in try await destinations.list(spaceId: spaceId) {
                views.append(
                    View(
                        destination: destination,
                        audience: try await audiences.find(spaceId: spaceId, idOrKey: destination.audienceId)))
            }
            return try JSONBody.response(DataEnvelope(data: views))
        }
        space.get("/messaging-destinations/:destination_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("destination_id")
            guard let destination = try await destinations.get(spaceId: spaceId, id: id) else {
                throw Self.notFound(id)
            }
            let audience = try await audiences.find(spaceId: spaceId, idOrKey: destination.audienceId)
            return try JSONBody.response(DataEnvelope(data: View(destination: destination, audience: audience)))
        }
        // The whole destination, as on creation; actions sent back with their id keep it (and so
        // their at-most-once history), actions left out are removed.
        space.put("/messaging-destinations/:destination_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("destination_id")
            guard let current = try await destinations.get(spaceId: spaceId, id: id) else { throw Self.notFound(id) }
            let (draft, audience) = try await checked(spaceId: spaceId, request: request, existing: current.actions)
            guard
                let (saved, queued) = try await destinations.save(
                    spaceId: spaceId, id: id, draft: draft, audienceId: audience.audienceId)
            else {
                throw Self.notFound(id)
            }
            if queued > 0 { onQueued() }
            return try JSONBody.response(
                DataEnvelope(data: View(destination: saved, audience: audience, queuedForExistingMembers: queued)))
        }
        space.delete("/messaging-destinations/:destination_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("destination_id")
            guard try await destinations.delete(spaceId: spaceId, id: id) else { throw Self.notFound(id) }
            return Response(status: .noContent)
        }
    }

    static func notFound(_ id: String) -> APIError { APIError.notFound("no messaging destination \(id) in this space") }

    /// The body, parsed and checked, and the audience it names; 422 with every problem otherwise.
    private func checked(spaceId: String, request: Request, existing: [DestinationAction]) async throws -> (
        DestinationDraft, AudienceEntry
    ) {
        let json = try await JSONBody.decode(JSONValue.self, from: request)
        let draft: DestinationDraft
        do {
            draft = try DestinationDraft.parse(json, existing: existing, newId: DestinationStore.newActionId)
        } catch {
            throw Self.rejection(error.problems)
        }
        var problems: [TemplateProblem] = []
        let audience = try await audiences.find(spaceId: spaceId, idOrKey: draft.audience)
        if audience == nil {
            problems.append(
                TemplateProblem(
                    field: "audienceId", line: nil, column: nil,
                    reason: AudienceCatalogReplica.unknown(draft.audience)))
        }
        for (index, action) in draft.actions.enumerated() {
            guard let templateId = action.templateId else { continue }
            guard
                let template = try await templates.forSend(
                    spaceId: spaceId, id: templateId, version: action.templateVersion)
            else {
                problems.append(
                    TemplateProblem(
                        field: "actions[\(index)].templateId", line: nil, column: nil,
                        reason:
                            "no template \(templateId)\(action.templateVersion.map { " version \($0)" } ?? "") in this space"
                    ))
                continue
            }
            if template.channel != action.type.channel {
                problems.append(
                    TemplateProblem(
                        field: "actions[\(index)].templateId", line: nil, column: nil,
                        reason:
                            "template \(templateId) is a \(template.channel.rawValue) template; \(action.type.rawValue) sends \(action.type.channel.rawValue)"
                    ))
            }
        }
        guard problems.isEmpty, let audience else { throw Self.rejection(problems) }
        return (draft, audience)
    }

    static func rejection(_ problems: [TemplateProblem]) -> APIError {
        APIError(
            .unprocessableContent, code: "invalid_destination",
            message: problems.map(\.description).joined(separator: "; "),
            problems: problems.map(\.description))
    }
}
