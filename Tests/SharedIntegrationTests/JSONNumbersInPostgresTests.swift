import Contracts
import Foundation
import Persistence
import PostgresNIO
import Testing

/// Integers beyond 2^53 keep their exact value through jsonb: written as the writer's text, read
/// back as `value::text` by JSONParser (replicas) or JSONDecoder (the Profile API's traits).
@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct JSONNumbersInPostgresTests {
    let logger = TestEnvironment.logger
    let traits =
        #"{"order_id":9007199254740993,"account":-1234567890123456789012345,"max":9223372036854775807,"price":9.99,"n":3}"#

    @Test(.timeLimit(.minutes(1)))
    func largeIntegersSurviveJsonb() async throws {
        let value = try JSONParser.parse(Array(traits.utf8))
        try await TestEnvironment.withDatabase { client, schema in
            try await client.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
            try await client.query("CREATE TABLE \(unescaped: schema).j (v jsonb NOT NULL)", logger: logger)
            try await client.query("INSERT INTO \(unescaped: schema).j VALUES (\(value.json)::jsonb)", logger: logger)
            var text = ""
            for try await stored in try await client.query("SELECT v::text FROM \(unescaped: schema).j", logger: logger)
                .decode(String.self)
            {
                text = stored
            }
            #expect(
                text.contains("9007199254740993") && text.contains("-1234567890123456789012345")
                    && text.contains("9223372036854775807"))
            #expect(try JSONParser.parse(Array(text.utf8)) == value)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aReplicasTraitsKeepLargeIntegers() async throws {
        let value = try JSONParser.parse(Array(traits.utf8))
        try await TestEnvironment.withDatabase { client, schema in
            try await client.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
            for statement in ProfileReplica.tableStatements {
                try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            // As a consumer of engage.profile-updates sees it: the platform's JSON, decoded.
            let sent = ProfileUpdate(
                spaceId: "spa", profileId: "p1", kind: .traitsChanged, occurredAt: Date(), causedByMessageId: "m1",
                traits: value.objectValue)
            let update = try WireDecoder.decode(ProfileUpdate.self, from: WireEncoder.encode(sent))
            let replica = ProfileReplica(db: client, keepsTraits: true, lockName: "test", logger: logger)
            try await client.withConnection { connection in try await replica.apply(update, on: connection) }
            let profile = try #require(try await replica.profiles(spaceId: "spa", ids: ["p1"])["p1"])
            #expect(JSONValue.object(profile.traits) == value)
            #expect(profile.traits["order_id"]?.json == "9007199254740993")
        }
    }
}
