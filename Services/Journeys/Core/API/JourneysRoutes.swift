import Hummingbird
import Persistence
import ServiceKit

/// Every HTTP route of journeys, over the stores it shares with the service's workers.
/// `JourneysService.run` registers it on the production router and the route tests on theirs, so
/// both exercise the same wiring.
struct JourneysRoutes: Sendable {
    var spaces: SpaceAccessReplica
    var journeys: JourneyStore
    var reader: JourneyReader
    var audiences: AudienceCatalogReplica
    var broadcasts: BroadcastStore

    func register<Context: RequestContext>(on router: Router<Context>) {
        let auth = SpaceTokenAuth(replica: spaces)
        JourneysAPI(auth: auth, store: journeys, reader: reader).register(on: router)
        BroadcastsAPI(auth: auth, audiences: audiences, store: broadcasts).register(on: router)
    }
}
