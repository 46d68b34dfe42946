// swift-tools-version:6.1
import PackageDescription

// swift-engage: six services, each a library target (the logic, tested directly) plus a thin
// executable, over shared libraries in Shared/. See README.md and docs/architecture.md.

let sharedRuntime: [Target.Dependency] = [
    "Contracts", "Kafka", "Liveness", "Persistence", "ServiceKit",
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "PostgresNIO", package: "postgres-nio"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "Metrics", package: "swift-metrics"),
    .product(name: "HTTPTypes", package: "swift-http-types"),
    .product(name: "Tracing", package: "swift-distributed-tracing"),
]

/// One service = `<Name>Core` library in Services/<Folder>/Core + executable `<exe>` in Services/<Folder>/Main.
struct ServiceSpec {
    let folder: String
    let core: String
    let executable: String
    var extraDependencies: [Target.Dependency] = []
}

let services: [ServiceSpec] = [
    ServiceSpec(
        folder: "Profiles", core: "ProfilesCore", executable: "profiles",
        extraDependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CompressNIO", package: "compress-nio"),
        ]),
    ServiceSpec(folder: "Subscriptions", core: "SubscriptionsCore", executable: "subscriptions"),
    ServiceSpec(folder: "Audiences", core: "AudiencesCore", executable: "audiences"),
    ServiceSpec(
        folder: "Journeys", core: "JourneysCore", executable: "journeys",
        extraDependencies: [.product(name: "Crypto", package: "swift-crypto")]),
    ServiceSpec(
        folder: "MessagingSend", core: "MessagingSendCore", executable: "messaging-send",
        extraDependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Stencil", package: "Stencil"),
        ]),
    ServiceSpec(
        folder: "EventsSource", core: "EventsSourceCore", executable: "events-source",
        extraDependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
]

var targets: [Target] = [
    // Schemas/: the contracts' published JSON Schemas (generated and checked by ContractSchemaTests).
    .target(name: "Contracts", path: "Shared/Contracts", exclude: ["Schemas"]),
    .target(name: "Liveness", path: "Shared/Liveness"),
    .systemLibrary(
        name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
        providers: [.apt(["librdkafka-dev"])]),
    .target(
        name: "Kafka",
        dependencies: [
            "CRdKafka", "Contracts", "Liveness",
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/Kafka"),
    .target(
        name: "Persistence",
        dependencies: [
            "Contracts", "Kafka", "Liveness",
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/Persistence"),
    .target(
        name: "ServiceKit",
        dependencies: [
            "Contracts", "Kafka", "Liveness", "Persistence",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "OTel", package: "swift-otel"),
        ], path: "Shared/ServiceKit"),
    .testTarget(name: "ContractsTests", dependencies: ["Contracts"], path: "Tests/ContractsTests"),
    .testTarget(
        name: "SharedIntegrationTests",
        dependencies: [
            "Contracts", "Kafka", "Liveness", "Persistence",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Tests/SharedIntegrationTests"),
    .testTarget(
        name: "ServiceKitTests",
        dependencies: [
            "ServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/ServiceKitTests"),
    // Test-only: a migrated schema per test, a seeded space and token, an in-process API client;
    // shared by the services' route tests.
    .target(
        name: "RouteTestSupport",
        dependencies: [
            "Contracts", "Persistence", "ServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/RouteTestSupport"),
    .testTarget(
        name: "ProfilesTests",
        dependencies: [
            "ProfilesCore", "Contracts", "RouteTestSupport", "ServiceKit", "Persistence",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], path: "Tests/ProfilesTests"),
    .testTarget(
        name: "SubscriptionsTests",
        dependencies: [
            "SubscriptionsCore", "Contracts", "RouteTestSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], path: "Tests/SubscriptionsTests"),
    .testTarget(name: "AudiencesTests", dependencies: ["AudiencesCore", "Contracts"], path: "Tests/AudiencesTests"),
    .testTarget(
        name: "JourneysTests",
        dependencies: [
            "JourneysCore", "Contracts", "Persistence", "RouteTestSupport", "ServiceKit",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], path: "Tests/JourneysTests"),
    .testTarget(
        name: "EventsSourceTests",
        dependencies: [
            "EventsSourceCore", "Contracts", "Persistence", "RouteTestSupport", "ServiceKit",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], path: "Tests/EventsSourceTests"),
    .testTarget(
        name: "MessagingSendTests",
        dependencies: [
            "MessagingSendCore", "Contracts", "Persistence", "RouteTestSupport", "ServiceKit", "Kafka",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], path: "Tests/MessagingSendTests"),
]

// The client of the six services' public APIs that the console and the `engage` CLI share.
targets += [
    .target(
        name: "EngageClient",
        dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ], path: "Shared/EngageClient")
]

// The console: a server-rendered web UI over the six services' public APIs. It owns no data and
// no schema, so it is not a ServiceSpec (no Postgres, no broker).
targets += [
    .target(
        name: "ConsoleCore",
        dependencies: [
            "Contracts", "EngageClient", "ServiceKit",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], path: "Services/Console/Core", resources: [.copy("Templates"), .copy("Assets")]),
    .executableTarget(name: "ConsoleMain", dependencies: ["ConsoleCore", "ServiceKit"], path: "Services/Console/Main"),
    .testTarget(
        name: "ConsoleTests",
        dependencies: [
            "ConsoleCore", "EngageClient",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], path: "Tests/ConsoleTests"),
]

// The `engage` CLI: everyday operations and definitions as code, over the same public APIs (and,
// for `tail`, the source-events topic).
targets += [
    .target(
        name: "EngageCLICore",
        dependencies: [
            "Contracts", "EngageClient", "Kafka",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Services/EngageCLI/Core"),
    .executableTarget(
        name: "EngageCLIMain",
        dependencies: ["EngageCLICore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Services/EngageCLI/Main"),
    .testTarget(
        name: "EngageCLITests",
        dependencies: ["EngageCLICore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Tests/EngageCLITests"),
]

var products: [Product] = [
    .executable(name: "console", targets: ["ConsoleMain"]), .executable(name: "engage", targets: ["EngageCLIMain"]),
]
for service in services {
    targets.append(
        .target(
            name: service.core, dependencies: sharedRuntime + service.extraDependencies,
            path: "Services/\(service.folder)/Core",
            // The service's OpenAPI document, served at /openapi.json and checked against its routes.
            resources: [.copy("OpenAPI/openapi.json")]))
    targets.append(
        .executableTarget(
            name: "\(service.core.dropLast(4))Main",
            dependencies: [
                .byName(name: service.core), "ServiceKit",
            ], path: "Services/\(service.folder)/Main"))
    products.append(.executable(name: service.executable, targets: ["\(service.core.dropLast(4))Main"]))
}

let package = Package(
    name: "swift-engage",
    platforms: [.macOS(.v14)],
    products: products,
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/stencilproject/Stencil.git", from: "0.15.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter would add gRPC to every build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
