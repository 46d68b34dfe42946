import Foundation
import Logging
import NIOCore
import Persistence
import PostgresNIO
import ServiceKit
import Testing

@testable import EventsSourceCore

let testBox = try! SecretBox(base64Key: Data(repeating: 5, count: 32).base64EncodedString())

@Suite struct DestinationSecretsTests {
    @Test func aSealedSecretOpensOnlyForItsDestinationUnderTheSameKey() throws {
        let secrets = DestinationSecrets(box: testBox)
        let secret = WebhookSignature.newSecret()
        let sealed = try secrets.seal(secret, destinationId: "dst_a")
        #expect(try secrets.open(sealed, destinationId: "dst_a") == secret)
        #expect(!Data(buffer: sealed).contains(Data(secret.utf8)))
        #expect(!Data(buffer: sealed).contains(Data(base64Encoded: String(secret.dropFirst(6)))!))
        #expect(throws: (any Error).self) { try secrets.open(sealed, destinationId: "dst_b") }
        let otherKey = DestinationSecrets(
            box: try SecretBox(base64Key: Data(repeating: 6, count: 32).base64EncodedString()))
        #expect(throws: (any Error).self) { try otherKey.open(sealed, destinationId: "dst_a") }
    }

    @Test func theServiceNeedsASecretsKeyAndReadsTheAllowList() throws {
        var env = ["ENGAGE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"]
        #expect(throws: ServiceConfigError.self) {
            try EventsSourceService.Config.fromEnvironment(EnvironmentVariables(env))
        }
        env["ENGAGE_SECRETS_KEY"] = "short"
        #expect(throws: ServiceConfigError.self) {
            try EventsSourceService.Config.fromEnvironment(EnvironmentVariables(env))
        }
        env["ENGAGE_SECRETS_KEY"] = Data(repeating: 5, count: 32).base64EncodedString()
        let config = try EventsSourceService.Config.fromEnvironment(EnvironmentVariables(env))
        #expect(config.egress.permits(IPAddress(literal: "127.0.0.1")!))
        #expect(!config.egress.permits(IPAddress(literal: "127.0.0.2")!))
    }
}

/// Against the Postgres of `ENGAGE_TEST_DATABASE_URL`.
@Suite(.serialized, .timeLimit(.minutes(1)), .enabled(if: TestDatabase.available, "needs ENGAGE_TEST_DATABASE_URL"))
struct DestinationSecretStorageTests {
    let logger = TestDatabase.logger

    /// The row's clear column and its sealed secret, opened.
    func stored(_ id: String, _ client: PostgresClient) async throws -> (clear: String?, sealed: ByteBuffer?) {
        var row: (String?, ByteBuffer?) = (nil, nil)
        for try await found in try await client.query(
            "SELECT secret, secret_sealed FROM destinations WHERE id = \(id)", logger: logger
        )
        .decode((String?, ByteBuffer?).self) { row = found }
        return row
    }

    @Test func secretsAreStoredSealedAndShownOnlyOnCreateAndRotate() async throws {
        try await TestDatabase.withSchema { client, _ in
            let store = DestinationStore(db: client, box: testBox, logger: logger)
            let created = try await store.create(
                spaceId: "sp1", name: "Warehouse", url: "https://hooks.example.com/x", events: [], paused: false)
            let secret = try #require(created.secret)
            #expect(secret.hasPrefix("whsec_"))
            #expect(try await store.get(spaceId: "sp1", id: created.id)?.secret == nil)
            #expect(try await store.list(spaceId: "sp1").allSatisfy { $0.secret == nil })

            let row = try await stored(created.id, client)
            let sealed = try #require(row.sealed)
            #expect(row.clear == nil)
            #expect(!Data(buffer: sealed).contains(Data(secret.utf8)))
            #expect(try DestinationSecrets(box: testBox).open(sealed, destinationId: created.id) == secret)

            let rotated = try #require(try await store.rotateSecret(spaceId: "sp1", id: created.id)?.secret)
            #expect(rotated != secret)
            let after = try await stored(created.id, client)
            #expect(after.clear == nil)
            #expect(
                try DestinationSecrets(box: testBox).open(try #require(after.sealed), destinationId: created.id)
                    == rotated)
        }
    }

    @Test func clearSecretsFromBeforeAreSealedAtStartup() async throws {
        // The schema as it was before sealing, with a row written then.
        try await TestDatabase.withSchema(migrations: [EventsSourceMigrations.all[0]]) { client, schema in
            try await client.query(
                """
                INSERT INTO destinations (id, space_id, name, url, events, secret, status)
                VALUES ('dst_old', 'sp1', 'Old', 'https://hooks.example.com/x', '{}', 'whsec_b2xkLXNlY3JldA==', 'active')
                """, logger: logger)
            try await Migrator.migrate(
                Migrator.platform + EventsSourceMigrations.all, schema: schema, client: client, logger: logger)
            try await Migrator.migrate(
                Migrator.platform + EventsSourceMigrations.all, schema: schema, client: client, logger: logger)
            #expect(try await stored("dst_old", client).clear == "whsec_b2xkLXNlY3JldA==", "SQL alone cannot seal")

            let secrets = DestinationSecrets(box: testBox)
            try await secrets.sealClearRows(db: client, logger: logger)
            let row = try await stored("dst_old", client)
            #expect(row.clear == nil)
            #expect(try secrets.open(try #require(row.sealed), destinationId: "dst_old") == "whsec_b2xkLXNlY3JldA==")
            try await secrets.sealClearRows(db: client, logger: logger)
            #expect(try await stored("dst_old", client).sealed == row.sealed, "sealing again changes nothing")
        }
    }

    @Test func deliveriesAreSignedWithTheOpenedSecretAndTheLogKeepsOnlyTheStatus() async throws {
        try await WebhookReceiver.run { receiver, port in
            try await TestDatabase.withSchema { client, _ in
                let store = DestinationStore(db: client, box: testBox, logger: logger)
                let good = try await store.create(
                    spaceId: "sp1", name: "Good", url: "http://127.0.0.1:\(port)/hooks", events: [], paused: false)
                let bad = try await store.create(
                    spaceId: "sp1", name: "Bad", url: "http://127.0.0.1:\(port)/fail", events: [], paused: false)
                for destination in [good, bad] {
                    try await client.query(
                        """
                        INSERT INTO deliveries (destination_id, event_id, event_name, lane, payload, status, next_attempt_at)
                        VALUES (\(destination.id), \("ev-" + destination.id), 'Email Opened', 'pr1', '{"event":"Email Opened"}', 'pending', now())
                        """, logger: logger)
                }
                let sender = WebhookSender(
                    egress: EgressGuard(policy: try EgressPolicy(allowList: "127.0.0.1"), resolver: SystemResolver()),
                    timeout: .seconds(3), connectionsPerHost: 2)
                let worker = DeliveryWorker(db: client, sender: sender, box: testBox, settings: .init(), logger: logger)
                let claimed = try await worker.deliverBatch()
                await sender.shutdown()
                #expect(claimed == 2)

                let hit = try #require(receiver.hits.first { $0.path == "/hooks" })
                let id = try #require(hit.header("webhook-id"))
                let timestamp = try #require(Int64(hit.header("webhook-timestamp") ?? ""))
                #expect(
                    hit.header("webhook-signature")
                        == WebhookSignature.sign(
                            secret: good.secret!, id: id, timestamp: timestamp, body: Array(hit.body.utf8)))

                let log = try await store.deliveries(destinationId: bad.id, status: nil, before: nil, limit: 10)
                #expect(log.count == 1)
                #expect(log.first?.lastStatus == 500)
                #expect(log.first?.lastError == "HTTP 500")
            }
        }
    }
}
