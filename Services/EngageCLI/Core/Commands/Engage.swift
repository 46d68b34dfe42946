import ArgumentParser
import EngageClient
import Foundation

/// `engage`: the command line of swift-engage.
public struct Engage: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "engage",
        abstract: "Operate a swift-engage installation: spaces, profiles, subscriptions, and definitions as code.",
        discussion: """
            Connection settings come from a profile of the config file (engage config), then the \
            environment (ENGAGE_TOKEN, ENGAGE_ADMIN_TOKEN, ENGAGE_<SERVICE>_URL, ENGAGE_KAFKA_BROKERS), \
            then flags.

            Exit statuses: 0 done; 1 differences (diff, apply --dry-run); 3 not found; 64 usage; \
            65 input refused; 66 input missing; 69 service unavailable; 73 cannot write; \
            77 token refused; 78 configuration.
            """,
        subcommands: [
            ConfigCommand.self, WhoAmI.self, SpacesCommand.self, SourcesCommand.self, TokensCommand.self,
            IdentityCommand.self, ProfileCommand.self, SubscriptionsCommand.self, CSVCommand.self, SendTest.self,
            TailCommand.self, Export.self, Diff.self, Apply.self, Completion.self,
        ])

    public init() {}
}

/// The flags every command that talks to the services takes.
public struct GlobalOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "The config file's profile to use (default: its current one, or ENGAGE_PROFILE).")
    public var profile: String?

    @Option(name: .long, help: "A space access token (default: ENGAGE_TOKEN, then the profile's).")
    public var token: String?

    @Option(name: .long, help: "The admin token, for spaces (default: ENGAGE_ADMIN_TOKEN, then the profile's).")
    public var adminToken: String?

    @Option(
        name: .customLong("url"),
        help: ArgumentHelp(
            "A service's base URL, as SERVICE=URL (profiles, subscriptions, audiences, journeys, messaging-send, events-source); repeatable.",
            valueName: "service=url"))
    public var urls: [String] = []

    @Option(name: .long, help: "Kafka bootstrap servers, for tail (default: ENGAGE_KAFKA_BROKERS, then the profile's).")
    public var brokers: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    public var json = false

    public init() {}

    public func validate() throws {
        _ = try parsedURLs()
    }

    func parsedURLs() throws -> [EngageService: String] {
        var result: [EngageService: String] = [:]
        for entry in urls {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let service = EngageService(rawValue: parts[0]) else {
                throw ValidationError(
                    "--url takes SERVICE=URL with SERVICE one of \(EngageService.allCases.map(\.rawValue).joined(separator: ", ")); got \(entry)"
                )
            }
            result[service] = parts[1]
        }
        return result
    }

    var connectionOptions: ConnectionOptions {
        ConnectionOptions(
            profile: profile, token: token, adminToken: adminToken, urls: (try? parsedURLs()) ?? [:], brokers: brokers)
    }

    /// Runs a command's body with a session, turning its errors into a message and an exit status.
    func run(_ body: (Session) async throws(CLIError) -> Int32) async throws {
        let status: Int32
        do {
            let environment = ProcessInfo.processInfo.environment
            let file = try ConfigFile.load(environment: environment)
            let connection = try Connection.resolve(file: file, environment: environment, options: connectionOptions)
            status = try await body(Session(connection: connection))
        } catch {
            for line in error.lines { Terminal.err(line.hasPrefix("  ") ? line : "engage: " + line) }
            throw ExitCode(error.exitCode)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// Runs a command's body that needs no session, turning its error into a message and an exit status.
func reportingErrors(_ body: () throws(CLIError) -> Void) throws {
    do {
        try body()
    } catch {
        for line in error.lines { Terminal.err(line.hasPrefix("  ") ? line : "engage: " + line) }
        throw ExitCode(error.exitCode)
    }
}

/// `engage completion bash|zsh|fish`: the shell completion script.
struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the shell completion script (e.g. `source <(engage completion bash)`).")

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell) else {
            throw ValidationError("shell must be bash, zsh or fish")
        }
        print(Engage.completionScript(for: kind))
    }
}
