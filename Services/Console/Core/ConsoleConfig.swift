import EngageClient
import Foundation
import ServiceKit

/// The console's settings (docs/configuration.md lists them with the common ones it shares).
public struct ConsoleConfig: Sendable {
    public var common: CommonConfig
    /// Base URLs of the six services' public HTTP APIs, as the console reaches them.
    public var upstreams: [EngageService: URL]
    /// Key the session cookie is sealed with (AES-GCM); every replica needs the same one.
    public var sessionKey: SessionKey
    public var sessionLifetime: Duration
    /// `Secure` on the cookie: on behind TLS, off for plain http on a laptop.
    public var secureCookies: Bool
    /// Where Debian's `libjs-*` packages put the browser libraries (served under /vendor).
    public var vendorDirectory: String
    /// Where the templates and the console's own assets are (the target's resource bundle).
    public var resourcesDirectory: String
    /// What the channels screen shows as the base of the provider webhook URLs to paste.
    public var messagingPublicURL: String

    public static func fromEnvironment(_ env: EnvironmentVariables = EnvironmentVariables()) throws -> ConsoleConfig {
        let common = try CommonConfig.fromEnvironment(
            service: "console", schema: "console", defaultPort: 8080, env: env)
        var upstreams: [EngageService: URL] = [:]
        for service in EngageService.allCases {
            let text = env.string(service.environmentName, default: service.defaultURL.absoluteString)
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ServiceConfigError("\(service.environmentName) must be an http(s) URL, got \(text)")
            }
            upstreams[service] = url
        }
        let keyText = env.values["ENGAGE_CONSOLE_SESSION_KEY"] ?? ""
        let sessionKey: SessionKey
        if keyText.isEmpty {
            guard env.isDevelopment else {
                throw ServiceConfigError(
                    "ENGAGE_CONSOLE_SESSION_KEY is required: 32 random bytes in base64 (`openssl rand -base64 32`), "
                        + "the same for every console replica; it seals the session cookie")
            }
            sessionKey = .random()
        } else {
            guard let key = SessionKey(base64: keyText) else {
                throw ServiceConfigError("ENGAGE_CONSOLE_SESSION_KEY must be 32 random bytes in base64")
            }
            sessionKey = key
        }
        let lifetime = try env.int("ENGAGE_CONSOLE_SESSION_SECONDS", default: 12 * 3600)
        guard lifetime >= 1 else { throw ServiceConfigError("ENGAGE_CONSOLE_SESSION_SECONDS must be at least 1") }
        let resources =
            env.values["ENGAGE_CONSOLE_RESOURCES"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ConsoleResources.defaultDirectory
        return ConsoleConfig(
            common: common,
            upstreams: upstreams,
            sessionKey: sessionKey,
            sessionLifetime: .seconds(lifetime),
            secureCookies: env.string("ENGAGE_CONSOLE_SECURE_COOKIES", default: "false") == "true",
            vendorDirectory: env.string("ENGAGE_CONSOLE_VENDOR_DIR", default: "/usr/share/javascript"),
            resourcesDirectory: resources,
            messagingPublicURL: env.string(
                "ENGAGE_MESSAGING_PUBLIC_URL", default: upstreams[.messaging]!.absoluteString))
    }
}

extension EngageService {
    /// The variable that gives the console this service's base URL.
    var environmentName: String {
        switch self {
        case .profiles: "ENGAGE_CONSOLE_PROFILES_URL"
        case .subscriptions: "ENGAGE_CONSOLE_SUBSCRIPTIONS_URL"
        case .audiences: "ENGAGE_CONSOLE_AUDIENCES_URL"
        case .journeys: "ENGAGE_CONSOLE_JOURNEYS_URL"
        case .messaging: "ENGAGE_CONSOLE_MESSAGING_URL"
        case .eventsSource: "ENGAGE_CONSOLE_EVENTS_SOURCE_URL"
        }
    }
}

/// The target's resource bundle. Looked up next to the executable first (where an image puts it),
/// then where SwiftPM builds it.
enum ConsoleResources {
    static let bundleName = "swift-engage_ConsoleCore.resources"

    static var defaultDirectory: String {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        let candidates = [
            executable.deletingLastPathComponent().appendingPathComponent(bundleName).path,
            Bundle.main.bundleURL.appendingPathComponent(bundleName).path,
        ]
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/Templates") {
            return candidate
        }
        return Bundle.module.bundlePath
    }
}
