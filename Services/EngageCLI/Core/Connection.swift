import EngageClient
import Foundation

/// Where the services are and which token to present: a named profile of the config file, then
/// the environment, then flags, each overriding the one before.
public struct Connection: Sendable, Equatable {
    public var profileName: String
    public var token: String?
    public var adminToken: String?
    public var urls: [EngageService: URL]
    public var brokers: String

    /// The environment variable that overrides a service's URL: `ENGAGE_PROFILES_URL`, `ENGAGE_MESSAGING_SEND_URL`.
    public static func urlVariable(_ service: EngageService) -> String {
        "ENGAGE_" + service.rawValue.uppercased().replacingOccurrences(of: "-", with: "_") + "_URL"
    }

    public static func resolve(
        file: ConfigFile, environment: [String: String], options: ConnectionOptions
    ) throws(CLIError) -> Connection {
        let name = options.profile ?? nonEmpty(environment["ENGAGE_PROFILE"]) ?? file.current ?? "default"
        let saved = file.profiles[name]
        if saved == nil, options.profile != nil || environment["ENGAGE_PROFILE"] != nil {
            let known = file.profiles.keys.sorted()
            throw CLIError(
                ExitStatus.config,
                "no profile \(name) in \(ConfigFile.path(environment: environment))"
                    + (known.isEmpty ? "" : " (profiles: \(known.joined(separator: ", ")))"))
        }
        var urls: [EngageService: URL] = [:]
        for service in EngageService.allCases {
            let text =
                options.urls[service] ?? nonEmpty(environment[urlVariable(service)])
                ?? saved?.urls?[service.rawValue]
            if let text {
                guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
                    url.host != nil
                else {
                    throw CLIError(ExitStatus.config, "\(service.rawValue) URL \(text) is not an http(s) URL")
                }
                urls[service] = url
            } else {
                urls[service] = service.defaultURL
            }
        }
        return Connection(
            profileName: name,
            token: options.token ?? nonEmpty(environment["ENGAGE_TOKEN"]) ?? saved?.token,
            adminToken: options.adminToken ?? nonEmpty(environment["ENGAGE_ADMIN_TOKEN"]) ?? saved?.adminToken,
            urls: urls,
            brokers: options.brokers ?? nonEmpty(environment["ENGAGE_KAFKA_BROKERS"]) ?? saved?.brokers
                ?? "127.0.0.1:19092")
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return text
    }
}

/// The connection flags every command takes.
public struct ConnectionOptions: Sendable {
    public var profile: String?
    public var token: String?
    public var adminToken: String?
    public var urls: [EngageService: String] = [:]
    public var brokers: String?

    public init(
        profile: String? = nil, token: String? = nil, adminToken: String? = nil, urls: [EngageService: String] = [:],
        brokers: String? = nil
    ) {
        self.profile = profile
        self.token = token
        self.adminToken = adminToken
        self.urls = urls
        self.brokers = brokers
    }
}
