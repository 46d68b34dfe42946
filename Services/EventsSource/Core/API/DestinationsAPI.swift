import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// Webhook destinations under `/spaces/{space_id}/destinations`, authenticated with a space access
/// token: CRUD, pause, resume (undelivered events go out in order), replay of a time range,
/// secret rotation and the delivery log.
public struct DestinationsAPI: Sendable {
    let auth: SpaceTokenAuth
    let store: DestinationStore
    let egress: EgressGuard

    /// `policy`: which addresses a destination URL may point to (checked again on every delivery).
    public init(auth: SpaceTokenAuth, store: DestinationStore, policy: EgressPolicy) {
        self.auth = auth
        self.store = store
        self.egress = EgressGuard(policy: policy, resolver: SystemResolver())
    }

    struct CreateBody: Decodable {
        var name: String?
        var url: String?
        var events: [String]?
        var enabled: Bool?
    }

    struct UpdateBody: Decodable {
        var name: String?
        var url: String?
        var events: [String]?
    }

    struct ReplayBody: Decodable {
        var from: Date?
        var to: Date?
    }

    struct Replayed: Encodable {
        var destinationId: String
        var queued: Int
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let destinations = router.group("/spaces/:space_id/destinations")
        destinations.post("") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(CreateBody.self, from: request)
            guard let url = body.url else { throw APIError.badRequest("url is required") }
            let destination = try await checked {
                let url = try DestinationRules.url(url)
                try await egress.checkDestination(url)
                return try await store.create(
                    spaceId: spaceId, name: try DestinationRules.name(body.name ?? url), url: url,
                    events: try DestinationRules.events(body.events ?? []), paused: body.enabled == false)
            }
            return try JSONBody.response(DataEnvelope(data: destination), status: .created)
        }
        destinations.get("") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await store.list(spaceId: spaceId)))
        }
        destinations.get("/:id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await found(store.get(spaceId: spaceId, id: context.parameters.require("id")))))
        }
        destinations.patch("/:id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(UpdateBody.self, from: request)
            let change = try await checked {
                let change = DestinationStore.Change(
                    name: try body.name.map(DestinationRules.name), url: try body.url.map(DestinationRules.url),
                    events: try body.events.map(DestinationRules.events))
                if let url = change.url { try await egress.checkDestination(url) }
                return change
            }
            let destination = try await store.update(spaceId: spaceId, id: context.parameters.require("id"), change)
            return try JSONBody.response(DataEnvelope(data: try found(destination)))
        }
        destinations.delete("/:id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            guard try await store.delete(spaceId: spaceId, id: context.parameters.require("id")) else { throw notFound }
            return Response(status: .noContent)
        }
        destinations.post("/:id/pause") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(data: try await found(store.pause(spaceId: spaceId, id: context.parameters.require("id"))))
            )
        }
        destinations.post("/:id/resume") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(
                    data: try await found(store.resume(spaceId: spaceId, id: context.parameters.require("id")))))
        }
        destinations.post("/:id/rotate-secret") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(
                    data: try await found(
                        store.rotateSecret(
                            spaceId: spaceId,
                            id: context.parameters.require("id")))))
        }
        destinations.post("/:id/replay") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(ReplayBody.self, from: request)
            guard let from = body.from else { throw APIError.badRequest("from is required (an ISO-8601 time)") }
            let to = body.to ?? Date()
            guard from < to else { throw APIError.badRequest("from must be before to") }
            let id = try context.parameters.require("id")
            let queued = try found(try await store.replay(spaceId: spaceId, id: id, from: from, to: to))
            return try JSONBody.response(
                DataEnvelope(data: Replayed(destinationId: id, queued: queued)), status: .accepted)
        }
        destinations.get("/:id/deliveries") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("id")
            _ = try found(try await store.get(spaceId: spaceId, id: id))
            let status = QueryParameters.string(request, "status")
            guard status == nil || ["pending", "delivered"].contains(status!) else {
                throw APIError.badRequest("status must be pending or delivered")
            }
            let limit = try QueryParameters.int(request, "limit", default: 100, range: 1...1_000)
            var before: Int64?
            if let cursor = QueryParameters.string(request, "cursor") {
                guard let value = Int64(cursor) else { throw APIError.badRequest("cursor is not one this API gave") }
                before = value
            }
            let records = try await store.deliveries(destinationId: id, status: status, before: before, limit: limit)
            return try JSONBody.response(
                PageEnvelope(data: records, next: records.count == limit ? records.last.map { String($0.id) } : nil))
        }
    }

    private var notFound: APIError { APIError.notFound("no such destination in this space") }

    private func found<T>(_ value: T?) throws -> T {
        guard let value else { throw notFound }
        return value
    }

    /// A broken destination rule as 422, naming the field.
    private func checked<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DestinationError {
            throw APIError(.unprocessableContent, code: "invalid_destination", message: error.description)
        }
    }
}
