import ArgumentParser
import Contracts
import EngageClient

/// Prints a list as a table, or as JSON with `--json`.
func printList(_ items: [JSONValue], json: Bool, columns: [(header: String, field: String)]) {
    if json {
        Terminal.out(JSONValue.array(items).prettyText)
        return
    }
    var table = Table()
    table.headers = columns.map(\.header)
    for item in items { table.add(columns.map { item[$0.field].cell }) }
    Terminal.out(table.text)
}

/// Prints one object as `field  value` lines, or as JSON.
func printObject(_ item: JSONValue, json: Bool, fields: [(label: String, field: String)]) {
    if json {
        Terminal.out(item.prettyText)
        return
    }
    let width = (fields.map(\.label.count).max() ?? 0) + 2
    for (label, field) in fields {
        Terminal.out(label.padding(toLength: width, withPad: " ", startingAt: 0) + item[field].cell)
    }
}

extension GlobalOptions {
    static let idNameCreated: [(String, String)] = [("ID", "id"), ("NAME", "name"), ("CREATED", "createdAt")]

    /// A list of the token's space, printed as a table (or JSON).
    func runSpaceList(_ service: EngageService, _ path: String, doing action: String, columns: [(String, String)])
        async throws
    {
        try await run { session throws(CLIError) in
            let items = try await session.space().list(service, path, doing: action)
            printList(items, json: json, columns: columns.map { (header: $0.0, field: $0.1) })
            return 0
        }
    }

    /// One call in the token's space whose answer is `{"data": object}`, printed field by field (or as JSON).
    func runSpaceCall(
        _ method: EngageMethod, _ service: EngageService, _ path: String, body: JSONValue? = nil, doing action: String,
        fields: [(String, String)]
    ) async throws {
        try await run { session throws(CLIError) in
            let answer = try await session.space().expect(method, service, path, json: body, doing: action)
            printObject(answer["data"] ?? .null, json: json, fields: fields.map { (label: $0.0, field: $0.1) })
            return 0
        }
    }
}

struct SpacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spaces", abstract: "List and create spaces (admin token).",
        subcommands: [List.self, Create.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every space.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let response = try await session.admin(.GET, "/admin/spaces")
                guard response.ok else { throw CLIError.refused(response, doing: "listing spaces") }
                guard let items = (try? JSONValue.parse(response.body))?["data"]?.arrayValue else {
                    throw CLIError(ExitStatus.unavailable, "listing spaces: the answer is not a {\"data\": [...]} list")
                }
                printList(
                    items, json: global.json, columns: [("ID", "id"), ("NAME", "name"), ("CREATED", "createdAt")])
                return 0
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a space, with an access token for it (printed once), unless --no-token.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The space's name.") var name: String
        @Option(help: "The access token's name.") var tokenName = "engage CLI"
        @Flag(help: "Create no access token.") var noToken = false

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let response = try await session.admin(.POST, "/admin/spaces", json: ["name": .string(name)])
                guard response.ok, case .object(var space)? = try? JSONValue.parse(response.body),
                    let id = space["id"]?.stringValue
                else {
                    throw CLIError.refused(response, doing: "creating the space")
                }
                if !noToken {
                    let created = try await session.admin(
                        .POST, "/admin/spaces/\(EngageAPI.segment(id))/access-tokens",
                        json: ["name": .string(tokenName)])
                    guard created.ok, let token = (try? JSONValue.parse(created.body))?["token"] else {
                        throw CLIError.refused(
                            created, doing: "creating the space's access token (the space \(id) exists)")
                    }
                    space["token"] = token
                }
                printObject(
                    .object(space), json: global.json,
                    fields: [("id", "id"), ("name", "name"), ("created", "createdAt"), ("token", "token")])
                return 0
            }
        }
    }
}

struct SourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources", abstract: "The space's sources and their write keys.",
        subcommands: [List.self, Create.self, RotateKey.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the space's sources.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.runSpaceList(
                .profiles, "/sources", doing: "listing sources", columns: GlobalOptions.idNameCreated)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a source; prints its write key once.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The source's name.") var name: String

        func run() async throws {
            try await global.runSpaceCall(
                .POST, .profiles, "/sources", body: ["name": .string(name)], doing: "creating the source",
                fields: [("id", "id"), ("name", "name"), ("write key", "writeKey")])
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key", abstract: "Give a source a new write key (the old one stops working).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The source's id.") var sourceId: String

        func run() async throws {
            try await global.runSpaceCall(
                .POST, .profiles, "/sources/\(EngageAPI.segment(sourceId))/rotate-write-key",
                doing: "rotating the write key", fields: [("id", "id"), ("name", "name"), ("write key", "writeKey")])
        }
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "The space's access tokens.",
        subcommands: [List.self, Create.self, Revoke.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the space's access tokens (never their values).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.runSpaceList(
                .profiles, "/access-tokens", doing: "listing tokens", columns: GlobalOptions.idNameCreated)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an access token; prints its value once.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The token's name.") var name: String

        func run() async throws {
            try await global.runSpaceCall(
                .POST, .profiles, "/access-tokens", body: ["name": .string(name)], doing: "creating the token",
                fields: [("id", "id"), ("name", "name"), ("token", "token")])
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an access token.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The token's id.") var tokenId: String

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let space = try await session.space()
                try await space.expect(
                    .DELETE, .profiles, "/access-tokens/\(EngageAPI.segment(tokenId))", doing: "revoking the token")
                if global.json {
                    Terminal.out(JSONValue.object(["revoked": .string(tokenId)]).prettyText)
                } else {
                    Terminal.err("revoked \(tokenId)")
                }
                return 0
            }
        }
    }
}

struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "Identity resolution settings.", subcommands: [Rules.self])

    struct Rules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The space's identity rules.", subcommands: [List.self, Set.self], defaultSubcommand: List.self)
        static let columns = [
            ("PRIORITY", "priority"), ("TYPE", "type"), ("LIMIT", "limit"), ("WINDOW S", "windowSeconds"),
            ("TRAIT", "traitKey"),
        ]

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the identity rules by priority.")
            @OptionGroup var global: GlobalOptions

            func run() async throws {
                try await global.runSpaceList(
                    .profiles, "/identity-rules", doing: "listing identity rules", columns: Rules.columns)
            }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add or change the rule of an identifier type.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The identifier type (email, phone, user_id, or your own, e.g. crm_id).") var type: String
            @Option(help: "Its place among the rules (1 first).") var priority: Int
            @Option(help: "How many values of this type one profile may hold.") var limit: Int
            @Option(help: "Only the values seen within this many seconds count toward the limit.") var windowSeconds:
                Int?
            @Option(help: "The trait that carries it, for a custom type.") var traitKey: String?

            func run() async throws {
                var body: [String: JSONValue] = [
                    "priority": .number(Double(priority)), "limit": .number(Double(limit)),
                ]
                if let windowSeconds { body["windowSeconds"] = .number(Double(windowSeconds)) }
                if let traitKey { body["traitKey"] = .string(traitKey) }
                try await global.runSpaceCall(
                    .PUT, .profiles, "/identity-rules/\(EngageAPI.segment(type))", body: .object(body),
                    doing: "setting the \(type) rule", fields: Rules.columns.map { ($0.1, $0.1) })
            }
        }
    }
}
