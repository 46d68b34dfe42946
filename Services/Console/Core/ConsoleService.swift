import AsyncHTTPClient
import EngageClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceKit

/// The console's process: the screens, its assets, Debian's browser libraries under /vendor, and
/// the probes. It holds no data: every screen reads and writes through the services' APIs.
public enum ConsoleService {
    public static func run() async throws {
        let config = try ConsoleConfig.fromEnvironment()
        let logger = try Observability.bootstrap(config.common)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let router = try await makeRouter(config: config, httpClient: httpClient, logger: logger)
            logger.info(
                "starting",
                metadata: ["port": "\(config.common.httpPort)", "resources": "\(config.resourcesDirectory)"])
            try await ServiceHost.runHTTP(config.common, router: router, services: [], logger: logger)
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    /// The whole router; tests build it the same way.
    public static func makeRouter(config: ConsoleConfig, httpClient: HTTPClient, logger: Logger) async throws
        -> Router<BasicRequestContext>
    {
        let views = try await Views(directory: config.resourcesDirectory + "/Templates")
        let upstream = EngageAPI(client: httpClient, bases: config.upstreams)
        let console = Console(config: config, views: views, upstream: upstream, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestTracingMiddleware())
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: RequestIdMiddleware())
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(
            middleware: FileMiddleware(
                config.resourcesDirectory + "/Assets", urlBasePath: "/assets",
                cacheControl: .init([(MediaType(type: .any), [.maxAge(300)])]),
                logger: logger
            ).withServeOnNotFoundResponse())
        router.add(
            middleware: FileMiddleware(
                config.vendorDirectory, urlBasePath: "/vendor",
                cacheControl: .init([(MediaType(type: .any), [.maxAge(86400)])]),
                logger: logger
            ).withServeOnNotFoundResponse())
        ConsoleProbes(upstream: upstream).register(on: router)
        router.add(middleware: ConsoleErrorMiddleware(console: console))
        SignInScreen(console: console).register(on: router)
        HomeScreen(console: console).register(on: router)
        ProfilesScreen(console: console).register(on: router)
        SubscriptionsScreen(console: console).register(on: router)
        TemplatesScreen(console: console).register(on: router)
        AudiencesScreen(console: console).register(on: router)
        JourneysScreen(console: console).register(on: router)
        BroadcastsScreen(console: console).register(on: router)
        AnalyticsScreen(console: console).register(on: router)
        ChannelsScreen(console: console).register(on: router)
        DestinationsScreen(console: console).register(on: router)
        SettingsScreen(console: console).register(on: router)
        return router
    }
}

/// `/health`: the process answers. `/ready`: it can sign people in (profiles answers); the other
/// services are listed with their state, since one of them down spoils only its own screens.
struct ConsoleProbes: Sendable {
    let upstream: EngageAPI

    func register(on router: Router<some RequestContext>) {
        router.get("/health") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/ready") { _, _ in
            let states = await withTaskGroup(of: (EngageService, Bool).self) { group in
                for service in EngageService.allCases {
                    group.addTask {
                        let answer = try? await upstream.call(
                            service, .GET, "/health", token: nil, timeout: .seconds(2))
                        return (service, answer?.ok ?? false)
                    }
                }
                var states: [EngageService: Bool] = [:]
                for await (service, up) in group { states[service] = up }
                return states
            }
            let ready = states[.profiles] == true
            let body = EngageService.allCases.map {
                "\"\($0.rawValue)\":\(states[$0] == true ? "\"up\"" : "\"down\"")"
            }
            .joined(separator: ",")
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: #"{"status":"\#(ready ? "ready" : "not_ready")","services":{\#(body)}}"#)))
        }
        router.get("/metrics") { _, _ in OperationalRoutes.metricsResponse() }
    }
}
