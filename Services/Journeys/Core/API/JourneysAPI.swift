import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// `/spaces/{space_id}/journeys`: drafts, publish (422 with every problem), pause, resume,
/// archive, versions, per-step counts and a profile's passes.
public struct JourneysAPI: Sendable {
    let auth: SpaceTokenAuth
    let store: JourneyStore
    let reader: JourneyReader

    public init(auth: SpaceTokenAuth, store: JourneyStore, reader: JourneyReader) {
        self.auth = auth
        self.store = store
        self.reader = reader
    }

    struct CreateBody: Decodable {
        var name: String?
        var definition: JSONValue?
    }

    struct PublishBody: Decodable {
        var stepMapping: [String: String]?
    }

    struct Validation: Encodable {
        var valid: Bool
        var problems: [String]
    }

    /// A definition to check without saving it. `templates`: templates about to be created (by a
    /// client applying several definitions at once), counted as existing at version 1.
    struct DraftValidationBody: Decodable {
        var definition: JSONValue?
        var templates: [PendingTemplate]?

        struct PendingTemplate: Decodable {
            var id: String
            var channel: String
        }
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/spaces/:space_id")
        space.post("/journeys") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(CreateBody.self, from: request)
            guard let name = body.name else { throw APIError.badRequest("name is required (at most 200 bytes)") }
            try Self.checkName(name)
            guard case .object? = body.definition else {
                throw APIError.badRequest("definition is required (an object)")
            }
            return try JSONBody.response(
                DataEnvelope(data: try await store.create(spaceId: spaceId, name: name, definition: body.definition!)),
                status: .created)
        }
        space.post("/journeys/validate") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(DraftValidationBody.self, from: request)
            guard case .object? = body.definition else {
                throw APIError.badRequest("definition is required (an object)")
            }
            var pending: [String: JourneyParser.TemplateInfo] = [:]
            for (index, template) in (body.templates ?? []).enumerated() {
                guard let channel = SubscriptionChannel(rawValue: template.channel.uppercased()), !template.id.isEmpty
                else {
                    throw APIError.badRequest(
                        "templates[\(index)]: id and a channel (EMAIL, SMS or WHATSAPP) are required")
                }
                pending[template.id] = .init(channel: channel, currentVersion: 1)
            }
            let problems = try await store.validate(spaceId: spaceId, definition: body.definition!, pending: pending)
            return try JSONBody.response(DataEnvelope(data: Validation(valid: problems.isEmpty, problems: problems)))
        }
        space.get("/journeys") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await store.list(spaceId: spaceId)))
        }
        space.get("/journeys/:id") { request, context in
            let (spaceId, id) = try await journey(request, context)
            guard let record = try await store.get(spaceId: spaceId, id: id) else {
                throw APIError.notFound("no journey \(id) in this space")
            }
            return try JSONBody.response(DataEnvelope(data: record))
        }
        space.patch("/journeys/:id") { request, context in
            let (spaceId, id) = try await journey(request, context)
            let body = try await JSONBody.decode(CreateBody.self, from: request)
            if let name = body.name { try Self.checkName(name) }
            if let definition = body.definition, case .object = definition {
            } else if body.definition != nil {
                throw APIError.badRequest("definition must be an object")
            }
            return try JSONBody.response(
                DataEnvelope(
                    data: try await store.updateDraft(
                        spaceId: spaceId, id: id, name: body.name, definition: body.definition)))
        }
        space.post("/journeys/:id/validate") { request, context in
            let (spaceId, id) = try await journey(request, context)
            let problems = try await store.validate(spaceId: spaceId, id: id)
            return try JSONBody.response(DataEnvelope(data: Validation(valid: problems.isEmpty, problems: problems)))
        }
        space.post("/journeys/:id/publish") { request, context in
            let (spaceId, id) = try await journey(request, context)
            let body = try await Self.optionalBody(PublishBody.self, request)
            return try JSONBody.response(
                DataEnvelope(
                    data: try await store.publish(spaceId: spaceId, id: id, stepMapping: body?.stepMapping ?? [:])))
        }
        for transition in [JourneyStore.Transition.pause, .resume, .archive] {
            space.post("/journeys/:id/\(transition.rawValue)") { request, context in
                let (spaceId, id) = try await journey(request, context)
                return try JSONBody.response(
                    DataEnvelope(data: try await store.transition(transition, spaceId: spaceId, id: id)))
            }
        }
        space.get("/journeys/:id/versions") { request, context in
            let (spaceId, id) = try await journey(request, context)
            return try JSONBody.response(DataEnvelope(data: try await store.versions(spaceId: spaceId, id: id)))
        }
        space.get("/journeys/:id/stats") { request, context in
            let (spaceId, id) = try await journey(request, context)
            guard try await store.get(spaceId: spaceId, id: id) != nil else {
                throw APIError.notFound("no journey \(id) in this space")
            }
            return try JSONBody.response(DataEnvelope(data: try await reader.stats(spaceId: spaceId, journeyId: id)))
        }
        space.get("/journeys/:id/instances") { request, context in
            let (spaceId, id) = try await journey(request, context)
            guard let profileId = QueryParameters.string(request, "profileId") else {
                throw APIError.badRequest("profileId is required")
            }
            guard try await store.get(spaceId: spaceId, id: id) != nil else {
                throw APIError.notFound("no journey \(id) in this space")
            }
            return try JSONBody.response(
                DataEnvelope(data: try await reader.instances(spaceId: spaceId, journeyId: id, profileId: profileId)))
        }
    }

    private func journey(_ request: Request, _ context: some RequestContext) async throws -> (String, String) {
        (try await auth.authorizedSpace(request, context), try context.parameters.require("id"))
    }

    static func checkName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.utf8.count <= 200 else {
            throw APIError.badRequest("name is required (at most 200 bytes)")
        }
    }

    /// A body that may be absent (`POST .../publish` with nothing to say), sent with a length or
    /// chunked.
    static func optionalBody<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T? {
        let buffer = try await JSONBody.collect(request)
        guard buffer.readableBytes > 0 else { return nil }
        return try JSONBody.decode(type, from: buffer)
    }
}
