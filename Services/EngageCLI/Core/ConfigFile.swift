import Foundation

/// `~/.config/engage/config.json` (or `$XDG_CONFIG_HOME/engage/config.json`, or `$ENGAGE_CONFIG`):
/// named connection profiles and which one is current. Written with mode 0600, since it holds tokens.
public struct ConfigFile: Codable, Sendable, Equatable {
    public struct Profile: Codable, Sendable, Equatable {
        public var token: String?
        public var adminToken: String?
        /// Service name (`profiles`, `messaging-send`, ...) -> base URL.
        public var urls: [String: String]?
        public var brokers: String?

        public init(
            token: String? = nil, adminToken: String? = nil, urls: [String: String]? = nil, brokers: String? = nil
        ) {
            self.token = token
            self.adminToken = adminToken
            self.urls = urls
            self.brokers = brokers
        }
    }

    public var current: String?
    public var profiles: [String: Profile]

    private enum CodingKeys: String, CodingKey { case current, profiles }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        current = try container.decodeIfPresent(String.self, forKey: .current)
        profiles = try container.decodeIfPresent([String: Profile].self, forKey: .profiles) ?? [:]
    }

    public init(current: String? = nil, profiles: [String: Profile] = [:]) {
        self.current = current
        self.profiles = profiles
    }

    public static func path(environment: [String: String]) -> String {
        if let explicit = environment["ENGAGE_CONFIG"], !explicit.isEmpty { return explicit }
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.config")
        return base + "/engage/config.json"
    }

    /// The file, or an empty configuration when there is none yet.
    public static func load(environment: [String: String]) throws(CLIError) -> ConfigFile {
        let path = path(environment: environment)
        guard FileManager.default.fileExists(atPath: path) else { return ConfigFile() }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(ConfigFile.self, from: data)
        } catch is DecodingError {
            throw CLIError(
                ExitStatus.config,
                "\(path) is not an engage config file (expected {\"current\": NAME, \"profiles\": {NAME: {\"token\", \"adminToken\", \"urls\", \"brokers\"}}})"
            )
        } catch {
            throw CLIError(ExitStatus.config, "cannot read \(path): \(error.localizedDescription)")
        }
    }

    public func save(environment: [String: String]) throws(CLIError) {
        let path = Self.path(environment: environment)
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var data = try encoder.encode(self)
            data.append(0x0A)
            // Created private before the tokens are written into it.
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            try data.write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        } catch {
            throw CLIError(ExitStatus.cannotCreate, "cannot write \(path): \(error)")
        }
    }
}
