import Contracts
import Foundation
import Hummingbird
import Persistence
import ServiceKit

/// The subscriptions API, in the spirit of Segment's Public API, under `/spaces/{space_id}`,
/// authenticated with a space access token (`Authorization: Bearer`).
public struct SubscriptionsAPI: Sendable {
    let auth: SpaceTokenAuth
    let applier: SubscriptionApplier
    let groups: GroupStore
    let reader: StateReader
    let jobs: JobStore

    public init(
        auth: SpaceTokenAuth, applier: SubscriptionApplier, groups: GroupStore, reader: StateReader, jobs: JobStore
    ) {
        self.auth = auth
        self.applier = applier
        self.groups = groups
        self.reader = reader
        self.jobs = jobs
    }

    struct ReplaceResult: Encodable {
        var applied: Int, unchanged: Int, rejected: Int
        var results: [SubscriptionItems.ItemResult]
    }

    struct GroupBody: Decodable {
        var name: String?
        var description: String?
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/spaces/:space_id")
        space.put("/messaging-subscriptions") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let items = try await Self.items(request, max: SubscriptionItems.maxItemsPerCall)
            return try JSONBody.response(DataEnvelope(data: try await replace(spaceId: spaceId, items: items)))
        }
        space.post("/messaging-subscriptions/jobs") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let items = try await Self.items(request, max: SubscriptionItems.maxItemsPerJob)
            return try JSONBody.response(
                DataEnvelope(data: try await jobs.create(spaceId: spaceId, items: items)), status: .accepted)
        }
        space.get("/messaging-subscriptions/jobs/:job_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let jobId = try context.parameters.require("job_id")
            guard let job = try await jobs.job(spaceId: spaceId, id: jobId) else {
                throw APIError.notFound("no job \(jobId) in space \(spaceId)")
            }
            return try JSONBody.response(DataEnvelope(data: job))
        }
        space.get("/messaging-subscriptions/jobs/:job_id/results") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let jobId = try context.parameters.require("job_id")
            guard try await jobs.job(spaceId: spaceId, id: jobId) != nil else {
                throw APIError.notFound("no job \(jobId) in space \(spaceId)")
            }
            let offset = try QueryParameters.int(request, "offset", default: 0, range: 0...Int.max)
            let limit = try QueryParameters.int(request, "limit", default: 100, range: 1...1_000)
            return try JSONBody.response(
                DataEnvelope(data: try await jobs.results(jobId: jobId, offset: offset, limit: limit)))
        }
        space.get("/messaging-subscriptions") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let key = try Self.key(request)
            return try JSONBody.response(
                DataEnvelope(data: try await Self.contact { try await reader.states(spaceId: spaceId, key: key) }))
        }
        space.get("/messaging-subscriptions/history") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let key = try Self.key(request)
            let limit = try QueryParameters.int(request, "limit", default: 100, range: 1...1_000)
            let before = try request.uri.queryParameters["before"].map { text in
                guard let value = Int64(String(text)) else {
                    throw APIError.badRequest("before must be the id of a history entry")
                }
                return value
            }
            let entries = try await Self.contact {
                try await reader.history(spaceId: spaceId, key: key, before: before, limit: limit)
            }
            return try JSONBody.response(
                HistoryPage(data: entries, next: entries.count == limit ? entries.last.map { String($0.id) } : nil))
        }
        space.get("/subscription-groups") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await groups.list(spaceId: spaceId)))
        }
        space.post("/subscription-groups") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(GroupBody.self, from: request)
            guard let name = body.name else { throw APIError.badRequest("name is required") }
            return try JSONBody.response(
                DataEnvelope(
                    data: try await Self.group {
                        try await groups.create(spaceId: spaceId, name: name, description: body.description ?? "")
                    }), status: .created)
        }
        space.patch("/subscription-groups/:group_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(GroupBody.self, from: request)
            let id = try context.parameters.require("group_id")
            return try JSONBody.response(
                DataEnvelope(
                    data: try await Self.group {
                        try await groups.rename(
                            spaceId: spaceId, id: id, name: body.name, description: body.description)
                    }))
        }
        space.delete("/subscription-groups/:group_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("group_id")
            try await Self.group { try await groups.delete(spaceId: spaceId, id: id) }
            return Response(status: .noContent)
        }
    }

    struct HistoryPage: Encodable {
        var data: [StateReader.HistoryEntry]
        var next: String?
    }

    /// Applies the items synchronously, all at the time of the call, in item order.
    func replace(spaceId: String, items: [JSONValue]) async throws -> ReplaceResult {
        let callId = Secrets.id("put_")
        let plan = SubscriptionItems.Plan(
            items: items.enumerated().map { ($0.offset, $0.element) }, idPrefix: callId, at: Date())
        var outcomes: [CommandOutcome] = []
        if !plan.commands.isEmpty {
            let batch = SubscriptionCommandBatch(
                id: callId, spaceId: spaceId, source: .api, origin: "api:\(callId)", commands: plan.commands)
            outcomes = try await applier.apply([batch])[0]
        }
        let results = plan.results(outcomes)
        return ReplaceResult(
            applied: results.count { $0.result == "applied" }, unchanged: results.count { $0.result == "unchanged" },
            rejected: results.count { $0.result == "rejected" }, results: results)
    }

    static func items(_ request: Request, max: Int) async throws -> [JSONValue] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: max * 1_024)
        } catch {
            throw APIError(
                .contentTooLarge, code: "payload_too_large", message: "request body is larger than \(max * 1_024) bytes"
            )
        }
        let body: JSONValue
        do {
            body = try JSONParser.parse(buffer.readableBytesView)
        } catch {
            throw APIError.badRequest("malformed JSON: \(error)")
        }
        // Postgres text and jsonb cannot hold NUL; refuse it here with a reason rather than fail later.
        if containsNUL(body) { throw APIError.badRequest("the body contains a NUL character (\\u0000)") }
        guard let items = body["subscriptions"]?.arrayValue else {
            throw APIError.badRequest("the body must be an object with a \"subscriptions\" array")
        }
        guard !items.isEmpty else { throw APIError.badRequest("subscriptions is empty") }
        guard items.count <= max else {
            throw APIError.badRequest(
                "\(items.count) items; this call takes at most \(max) (use /messaging-subscriptions/jobs for more)")
        }
        return items
    }

    static func containsNUL(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): return text.utf8.contains(0)
        case .array(let items): return items.contains(where: containsNUL)
        case .object(let members): return members.contains { $0.key.utf8.contains(0) || containsNUL($0.value) }
        default: return false
        }
    }

    static func key(_ request: Request) throws -> String {
        guard let key = request.uri.queryParameters["key"], !key.isEmpty else {
            throw APIError.badRequest("the query parameter key (an email address or phone number) is required")
        }
        return String(key)
    }

    static func contact<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let invalid as InvalidContact {
            throw APIError.badRequest(invalid.reason, code: invalid.kind == .email ? "INVALID_EMAIL" : "INVALID_PHONE")
        }
    }

    @discardableResult
    static func group<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as GroupError {
            switch error {
            case .invalidName(let message): throw APIError.badRequest(message)
            case .duplicateName(let name):
                throw APIError.conflict("a subscription group named \"\(name)\" already exists")
            case .limitReached(let limit): throw APIError.conflict("a space has at most \(limit) subscription groups")
            case .notFound(let id): throw APIError.notFound("no subscription group \(id)")
            }
        }
    }
}
