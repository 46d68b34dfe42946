import ArgumentParser
import Contracts
import EngageClient
import Foundation

/// `engage config ...`: the config file's named connection profiles.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Manage connection profiles (URLs, tokens) in the config file.",
        subcommands: [Set.self, Use.self, Show.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or change a profile (only the settings given change).")

        @Argument(help: "The profile's name.") var name: String
        @Option(help: "A space access token.") var token: String?
        @Option(help: "The admin token.") var adminToken: String?
        @Option(name: .customLong("url"), help: ArgumentHelp("SERVICE=URL; repeatable.", valueName: "service=url"))
        var urls: [String] = []
        @Option(help: "Kafka bootstrap servers.") var brokers: String?
        @Flag(help: "Make it the current profile.") var use = false

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            var options = GlobalOptions()
            options.urls = urls
            let parsed = try options.parsedURLs()
            try reportingErrors { () throws(CLIError) in
                var file = try ConfigFile.load(environment: environment)
                var profile = file.profiles[name] ?? ConfigFile.Profile()
                if let token { profile.token = token }
                if let adminToken { profile.adminToken = adminToken }
                if let brokers { profile.brokers = brokers }
                for (service, url) in parsed {
                    profile.urls = (profile.urls ?? [:]).merging([service.rawValue: url]) { $1 }
                }
                file.profiles[name] = profile
                if use || file.current == nil { file.current = name }
                // Checked before saving: a URL that does not parse is refused now, not at first use.
                _ = try Connection.resolve(file: file, environment: [:], options: ConnectionOptions(profile: name))
                try file.save(environment: environment)
                Terminal.err("saved profile \(name) in \(ConfigFile.path(environment: environment))")
            }
        }
    }

    struct Use: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a profile the current one.")
        @Argument(help: "The profile's name.") var name: String

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            try reportingErrors { () throws(CLIError) in
                var file = try ConfigFile.load(environment: environment)
                guard file.profiles[name] != nil else {
                    throw CLIError(ExitStatus.config, "no profile \(name)")
                }
                file.current = name
                try file.save(environment: environment)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the settings a command would use: profile, config file, URLs, brokers (tokens masked).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let connection = session.connection
                var urls: [String: JSONValue] = [:]
                for service in EngageService.allCases {
                    urls[service.rawValue] = .string(connection.urls[service]?.absoluteString ?? "")
                }
                let view: JSONValue = .object([
                    "profile": .string(connection.profileName),
                    "configFile": .string(ConfigFile.path(environment: ProcessInfo.processInfo.environment)),
                    "token": connection.token.map { .string(mask($0)) } ?? .null,
                    "adminToken": connection.adminToken.map { .string(mask($0)) } ?? .null,
                    "urls": .object(urls),
                    "brokers": .string(connection.brokers),
                ])
                if global.json {
                    Terminal.out(view.prettyText)
                } else {
                    Terminal.out("profile      \(connection.profileName)")
                    Terminal.out("config file  \(view["configFile"].cell)")
                    Terminal.out("token        \(view["token"].cell)")
                    Terminal.out("admin token  \(view["adminToken"].cell)")
                    Terminal.out("brokers      \(connection.brokers)")
                    for service in EngageService.allCases {
                        Terminal.out(
                            service.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
                                + urls[service.rawValue].cell)
                    }
                }
                return 0
            }
        }

        func mask(_ token: String) -> String {
            token.count <= 8 ? "****" : String(token.prefix(4)) + "…" + String(token.suffix(2))
        }
    }
}

/// `engage whoami`: the space the token opens.
struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show the space the access token opens.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { session throws(CLIError) in
            let space = try await session.space()
            if global.json {
                Terminal.out(
                    JSONValue.object([
                        "spaceId": .string(space.spaceId), "profile": .string(session.connection.profileName),
                    ]).prettyText)
            } else {
                Terminal.out("space \(space.spaceId) (profile \(session.connection.profileName))")
            }
            return 0
        }
    }
}
