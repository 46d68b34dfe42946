import AsyncHTTPClient
import Contracts
import Foundation
import Hummingbird
import Kafka
import Persistence
import PostgresNIO
import RouteTestSupport
import ServiceKit
import Testing

@testable import MessagingSendCore

/// messaging-send's routes exactly as `MessagingSendService.serve` wires them (`MessagingSendRoutes`
/// on `ServiceHost.apiRouter()`), over a fresh schema with the service's migrations.
enum MessagingRouteTest {
    /// The public URL the webhook URLs are built from (`ENGAGE_MESSAGING_PUBLIC_URL`).
    static let publicURL = "https://engage.example.test"
    /// Only `POST /messages` and test sends publish; without a broker those calls fail with 503.
    static let brokers = ProcessInfo.processInfo.environment["ENGAGE_TEST_KAFKA_BROKERS"]

    static func run(_ body: @escaping @Sendable (RouteTest) async throws -> Void) async throws {
        let producer = try KafkaProducer(
            config: KafkaConfig(brokers: brokers ?? "127.0.0.1:1", clientId: "route-tests", topicPartitions: 1),
            deliveryTimeout: .seconds(10), logger: TestPostgres.logger)
        do {
            try await RouteTest.run(
                migrations: MessagingMigrations.all, routes: { db in try router(db: db, producer: producer) }, body)
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
    }

    /// Seals provider secrets; tests that seed providers through `ProviderStore` use the same key.
    static let box = try! SecretBox(base64Key: Data((0..<32).map { UInt8($0) }).base64EncodedString())

    static func router(db: PostgresClient, producer: KafkaProducer) throws -> Router<BasicRequestContext> {
        let logger = TestPostgres.logger
        let messages = MessageStore(db: db, logger: logger)
        let http = ProviderHTTP(client: HTTPClient.shared, timeout: .seconds(2))
        let router = ServiceHost.apiRouter()
        MessagingSendRoutes(
            spaces: SpaceAccessReplica(db: db, logger: logger), templates: TemplateStore(db: db, logger: logger),
            providers: ProviderStore(db: db, box: box, logger: logger),
            verifier: ProviderVerifier(sendGrid: SendGridClient(http: http), twilio: TwilioClient(http: http)),
            replicas: ReplicaStore(db: db, logger: logger), messages: messages,
            destinations: DestinationStore(db: db, messages: messages, logger: logger),
            audiences: AudienceCatalogReplica(db: db, logger: logger),
            policies: SendPolicyStore(db: db, logger: logger),
            links: UnsubscribeLinks(box: box, publicURL: publicURL), producer: producer, database: db,
            publicURL: publicURL, onQueued: {}, logger: logger
        ).register(on: router)
        return router
    }
}

/// A marketing email template body that passes every check (it has an unsubscribe link).
let validEmailContent: JSONValue = [
    "subject": "Hi {{profile.traits.first_name | default: \"there\"}}",
    "html": "<p>Hello</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>",
]

extension RouteTest {
    /// Creates a template through the API and returns its id.
    func template(_ channel: String, _ name: String, _ content: JSONValue, purpose: String = "marketing")
        async throws -> String
    {
        let created = try await api(
            .post, "/spaces/\(space.id)/templates",
            ["name": .string(name), "channel": .string(channel), "purpose": .string(purpose), "content": content])
        try #require(created.status == .created, "\(created.json)")
        return try #require(created.data["id"]?.stringValue)
    }
}
