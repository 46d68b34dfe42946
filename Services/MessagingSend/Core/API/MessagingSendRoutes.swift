import Hummingbird
import Kafka
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// Every HTTP route of messaging-send, over the stores it shares with the service's workers.
/// `MessagingSendService.serve` registers it on the production router and the route tests on
/// theirs, so both exercise the same wiring.
struct MessagingSendRoutes: Sendable {
    var spaces: SpaceAccessReplica
    var templates: TemplateStore
    var providers: ProviderStore
    var verifier: ProviderVerifier
    var replicas: ReplicaStore
    var messages: MessageStore
    var destinations: DestinationStore
    var audiences: AudienceCatalogReplica
    var policies: SendPolicyStore
    var links: UnsubscribeLinks
    var producer: KafkaProducer
    var database: PostgresClient
    var publicURL: String
    /// A destination connected to an audience queued messages for its members: wakes the dispatcher.
    var onQueued: @Sendable () -> Void
    var logger: Logger

    func register<Context: RequestContext>(on router: Router<Context>) {
        let auth = SpaceTokenAuth(replica: spaces)
        DestinationRoutes(
            auth: auth, destinations: destinations, audiences: audiences, templates: templates, onQueued: onQueued
        ).register(on: router)
        MessagingAPI(
            auth: auth, templates: templates, providers: providers, verifier: verifier, replicas: replicas,
            messages: messages, producer: producer, publicURL: publicURL, policies: policies
        ).register(on: router)
        WebhookAPI(
            db: database, providers: providers, messages: messages, replicas: replicas, links: links,
            publicURL: publicURL, logger: logger
        ).register(on: router)
    }
}
