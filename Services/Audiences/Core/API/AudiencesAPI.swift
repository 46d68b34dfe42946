import Contracts
import Foundation
import Hummingbird
import Persistence
import ServiceKit

/// The audiences and computed-traits API under `/spaces/{space_id}`, authenticated with a space
/// access token (`Authorization: Bearer`).
public struct AudiencesAPI: Sendable {
    let auth: SpaceTokenAuth
    let definitions: DefinitionStore
    let reader: MembershipReader
    let preview: DraftPreview
    let compiled: @Sendable (String) async throws -> CompiledSpace?

    public init(
        auth: SpaceTokenAuth, definitions: DefinitionStore, reader: MembershipReader, preview: DraftPreview,
        compiled: @escaping @Sendable (String) async throws -> CompiledSpace?
    ) {
        self.auth = auth
        self.definitions = definitions
        self.reader = reader
        self.preview = preview
        self.compiled = compiled
    }

    struct CreateBody: Decodable {
        var key: String?
        var name: String?
        var description: String?
        var definition: JSONValue?
    }

    struct UpdateBody: Decodable {
        var name: String?
        var description: String?
        var definition: JSONValue?
    }

    struct PreviewBody: Decodable { var definition: JSONValue? }

    struct Size: Encodable {
        var audienceId: String
        var key: String
        var size: Int64
    }

    struct DefinitionValidation: Encodable {
        var valid: Bool
        var problems: [String]
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/spaces/:space_id")
        for (path, kind) in [("audiences", DefinitionStore.Kind.audience), ("computed-traits", .computedTrait)] {
            space.post("/\(path)") { request, context in
                let spaceId = try await auth.authorizedSpace(request, context)
                let body = try await JSONBody.decode(CreateBody.self, from: request)
                guard let key = body.key else { throw APIError.badRequest("key is required") }
                guard let definition = body.definition else { throw APIError.badRequest("definition is required") }
                let record = try await definitions.create(
                    kind, spaceId: spaceId, key: key, name: body.name ?? key,
                    description: body.description ?? "", definition: definition)
                return try JSONBody.response(DataEnvelope(data: record), status: .created)
            }
            // The checks a save makes on a definition, without saving it (nor evaluating it, as preview does).
            space.post("/\(path)/validate") { request, context in
                _ = try await auth.authorizedSpace(request, context)
                let body = try await JSONBody.decode(PreviewBody.self, from: request)
                guard let definition = body.definition else { throw APIError.badRequest("definition is required") }
                var problems: [String] = []
                do {
                    try DefinitionStore.check(kind, definition)
                } catch let error as APIError {
                    problems.append(error.message)
                }
                return try JSONBody.response(
                    DataEnvelope(data: DefinitionValidation(valid: problems.isEmpty, problems: problems)))
            }
            space.get("/\(path)") { request, context in
                let spaceId = try await auth.authorizedSpace(request, context)
                return try JSONBody.response(DataEnvelope(data: try await definitions.records(kind, spaceId: spaceId)))
            }
            space.get("/\(path)/:id") { request, context in
                let spaceId = try await auth.authorizedSpace(request, context)
                return try JSONBody.response(DataEnvelope(data: try await record(kind, spaceId, context)))
            }
            space.patch("/\(path)/:id") { request, context in
                let spaceId = try await auth.authorizedSpace(request, context)
                let body = try await JSONBody.decode(UpdateBody.self, from: request)
                let id = try context.parameters.require("id")
                return try JSONBody.response(
                    DataEnvelope(
                        data: try await definitions.update(
                            kind, spaceId: spaceId, idOrKey: id, name: body.name, description: body.description,
                            definition: body.definition)))
            }
            space.delete("/\(path)/:id") { request, context in
                let spaceId = try await auth.authorizedSpace(request, context)
                try await definitions.delete(kind, spaceId: spaceId, idOrKey: try context.parameters.require("id"))
                return Response(status: .noContent)
            }
            space.get("/\(path)/:id/versions") { request, context in
                let spaceId = try await auth.authorizedSpace(request, context)
                let found = try await record(kind, spaceId, context)
                return try JSONBody.response(
                    DataEnvelope(data: try await definitions.versions(kind, spaceId: spaceId, id: found.id)))
            }
        }
        space.get("/audiences/:id/size") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let audience = try await record(.audience, spaceId, context)
            return try JSONBody.response(
                DataEnvelope(
                    data: Size(
                        audienceId: audience.id, key: audience.key,
                        size: try await reader.size(spaceId: spaceId, audienceId: audience.id))))
        }
        space.get("/audiences/:id/members") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let audience = try await record(.audience, spaceId, context)
            let limit = try QueryParameters.int(request, "limit", default: 100, range: 1...1_000)
            let members = try await reader.members(
                spaceId: spaceId, audienceId: audience.id, after: QueryParameters.string(request, "cursor"),
                limit: limit)
            return try JSONBody.response(
                PageEnvelope(data: members, next: members.count == limit ? members.last?.profileId : nil))
        }
        space.post("/audiences/preview") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(PreviewBody.self, from: request)
            guard let definition = body.definition else { throw APIError.badRequest("definition is required") }
            return try JSONBody.response(
                DataEnvelope(
                    data: try await preview.preview(
                        spaceId: spaceId, definition: definition,
                        live: try await compiled(spaceId))))
        }
        space.get("/profiles/:profile_id/audiences") { request, context in
            let (spaceId, profileId) = try await profile(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await reader.memberships(spaceId: spaceId, profileId: profileId)))
        }
        space.get("/profiles/:profile_id/audience-history") { request, context in
            let (spaceId, profileId) = try await profile(request, context)
            let limit = try QueryParameters.int(request, "limit", default: 100, range: 1...1_000)
            let before = try QueryParameters.string(request, "cursor").map { text in
                guard let value = Int64(text) else {
                    throw APIError.badRequest("cursor must be the id of a history entry")
                }
                return value
            }
            let entries = try await reader.history(spaceId: spaceId, profileId: profileId, before: before, limit: limit)
            return try JSONBody.response(
                PageEnvelope(data: entries, next: entries.count == limit ? entries.last.map { String($0.id) } : nil))
        }
        space.get("/profiles/:profile_id/computed-traits") { request, context in
            let (spaceId, profileId) = try await profile(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await reader.computedTraits(spaceId: spaceId, profileId: profileId)))
        }
    }

    private func record(_ kind: DefinitionStore.Kind, _ spaceId: String, _ context: some RequestContext) async throws
        -> DefinitionStore.Record
    {
        let id = try context.parameters.require("id")
        guard let found = try await definitions.record(kind, spaceId: spaceId, idOrKey: id) else {
            throw APIError.notFound("no \(kind.noun) \"\(id)\" in this space")
        }
        return found
    }

    /// The space and the profile a (possibly merged-away) profile id lives in now.
    private func profile(_ request: Request, _ context: some RequestContext) async throws -> (String, String) {
        let spaceId = try await auth.authorizedSpace(request, context)
        let requested = try context.parameters.require("profile_id")
        guard let profileId = try await reader.survivor(spaceId: spaceId, profileId: requested) else {
            throw APIError.notFound("no profile \(requested) is known to the audiences service in this space")
        }
        return (spaceId, profileId)
    }
}
