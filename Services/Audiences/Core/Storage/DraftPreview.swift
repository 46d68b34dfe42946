import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// Estimates a draft definition before it is saved: evaluates it over a random sample of the
/// space's profiles, with their logged events, their traits and the live audiences' memberships.
public struct DraftPreview: Sendable {
    let db: PostgresClient
    let store: StateStore
    let logger: Logger
    public static let sampleSize = 2_000

    public init(db: PostgresClient, store: StateStore, logger: Logger) {
        self.db = db
        self.store = store
        self.logger = logger
    }

    public struct Result: Encodable, Sendable {
        public var estimatedSize: Int64
        /// True when the sample was every profile of the space.
        public var exact: Bool
        public var profilesInSpace: Int64
        public var sampled: Int
        public var matchedInSample: Int
        public var sample: [SampleProfile]
    }

    public struct SampleProfile: Encodable, Sendable {
        public var profileId: String
        public var userId: String?
        public var email: String?
        public var traits: [String: JSONValue]
    }

    public func preview(spaceId: String, definition: JSONValue, live: CompiledSpace?) async throws -> Result {
        let condition: Condition
        do { condition = try DefinitionParser.condition(definition) } catch {
            throw APIError(.unprocessableContent, code: "invalid_definition", message: error.description)
        }
        return try await db.withConnection { connection in
            var total: Int64 = 0
            for try await count in try await connection.query(
                """
                SELECT count(*) FROM profile_state WHERE space_id = \(spaceId) AND merged_into IS NULL
                """, logger: logger
            ).decode(Int64.self) { total = count }
            var sample: [String] = []
            for try await id in try await connection.query(
                """
                SELECT profile_id FROM profile_state WHERE space_id = \(spaceId) AND merged_into IS NULL ORDER BY random() LIMIT \(Self.sampleSize)
                """, logger: logger
            ).decode(String.self) { sample.append(id) }
            let draft = AudienceSpec(
                id: "draft", key: "__draft__", name: "draft", liveVersion: 0, live: condition, buildingVersion: nil,
                building: nil)
            let space = CompiledSpace(audiences: (live?.audiences ?? []) + [draft], traits: live?.traits ?? [])
            let evaluator = Evaluator(space: space)
            var states = try await store.lock(
                spaceId: spaceId, profileIds: Set(sample), create: false, readOnly: true, on: connection)
            var survivorOf: [String: String] = Dictionary(uniqueKeysWithValues: sample.map { ($0, $0) })
            for try await (loser, survivor) in try await connection.query(
                """
                SELECT profile_id, merged_into FROM profile_state WHERE space_id = \(spaceId) AND merged_into = ANY(\(sample))
                """, logger: logger
            ).decode((String, String).self) { survivorOf[loser] = survivor }
            let names = Array(Set(condition.eventConditions.map(\.name)))
            if !names.isEmpty {
                let now = Date()
                let query = EventLog.select(spaceId: spaceId, names: names, profileIds: Array(survivorOf.keys))
                for try await (profileId, eventId, name, time, properties) in try await connection.query(
                    query, logger: logger
                ).decode(EventLog.Row.self) {
                    guard let owner = survivorOf[profileId], states[owner] != nil else { continue }
                    evaluator.apply(
                        EventInput(
                            id: eventId, name: name, properties: StateStore.object(properties),
                            time: Date(timeIntervalSince1970: time)),
                        to: &states[owner]!, now: now)
                }
            }
            let statuses =
                condition.usesSubscriptions
                ? try await store.statuses(spaceId: spaceId, for: Array(states.values), on: connection) : [:]
            var matched: [ProfileState] = []
            for id in sample {
                guard var state = states[id] else { continue }
                state.memberOf.remove("draft")
                if !evaluator.evaluate(&state, audiences: ["draft"], now: Date(), statuses: statuses).isEmpty {
                    matched.append(state)
                }
            }
            let exact = Int64(sample.count) >= total
            let estimate =
                sample.isEmpty
                ? 0
                : exact
                    ? Int64(matched.count)
                    : Int64((Double(matched.count) / Double(sample.count) * Double(total)).rounded())
            return Result(
                estimatedSize: estimate, exact: exact, profilesInSpace: total, sampled: sample.count,
                matchedInSample: matched.count,
                sample: matched.prefix(10).map {
                    SampleProfile(profileId: $0.profileId, userId: $0.userId, email: $0.contactEmail, traits: $0.traits)
                })
        }
    }
}
