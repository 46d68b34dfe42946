import ArgumentParser
import Contracts
import EngageClient

/// `engage profile get email:ada@example.com`: one profile as the services know it.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Look up profiles.", subcommands: [Get.self], defaultSubcommand: Get.self)

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A profile's traits, identities, recent events, audiences, computed traits and subscriptions.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "type:value, e.g. email:ada@example.com, user_id:42, or a profile id (use_...).")
        var identifier: String
        @Option(help: "How many recent events to show.") var events = 10

        func validate() throws {
            if let colon = identifier.firstIndex(of: ":"),
                identifier[..<colon].isEmpty || identifier[identifier.index(after: colon)...].isEmpty
            {
                throw ValidationError(
                    "the identifier is type:value, both non-empty (email:ada@example.com); got \(identifier)")
            }
        }

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let space = try await session.space()
                let lookup = identifier.contains(":") ? identifier : "profile_id:" + identifier
                let metadata = try await profile(space, lookup, "metadata")
                guard let profileId = metadata["metadata"]?["profile_id"]?.stringValue else {
                    throw CLIError(ExitStatus.unavailable, "the Profile API answered no profile_id")
                }
                let traits = try await profile(space, lookup, "traits", [("limit", "200")])["traits"] ?? .object([:])
                let identities =
                    try await profile(space, lookup, "external_ids", [("limit", "100")])["data"] ?? .array([])
                let recent =
                    try await profile(space, lookup, "events", [("limit", String(events))])["data"] ?? .array([])
                let profilePath = "/profiles/\(EngageAPI.segment(profileId))"
                let audiences =
                    try await space.expect(
                        .GET, .audiences, profilePath + "/audiences", doing: "reading audiences")["data"] ?? .array([])
                let computed =
                    try await space.expect(
                        .GET, .audiences, profilePath + "/computed-traits", doing: "reading computed traits")["data"]
                    ?? .object([:])
                var subscriptions: [JSONValue] = []
                for identity in identities.arrayValue ?? [] {
                    guard let type = identity["type"]?.stringValue, ["email", "phone"].contains(type),
                        let value = identity["id"]?.stringValue
                    else { continue }
                    let state = try await space.expect(
                        .GET, .subscriptions, "/messaging-subscriptions", query: [("key", value)],
                        doing: "reading subscriptions of \(value)")
                    if let data = state["data"] { subscriptions.append(data) }
                }
                let whole: JSONValue = .object([
                    "profileId": .string(profileId), "metadata": metadata["metadata"] ?? .null, "traits": traits,
                    "identities": identities, "events": recent, "audiences": audiences, "computedTraits": computed,
                    "subscriptions": .array(subscriptions),
                ])
                if global.json {
                    Terminal.out(whole.prettyText)
                    return 0
                }
                Terminal.out("profile \(profileId)")
                Terminal.out("\nidentities")
                for identity in identities.arrayValue ?? [] {
                    Terminal.out("  \(identity["type"].cell):\(identity["id"].cell)")
                }
                Terminal.out("\ntraits")
                for (key, value) in (traits.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    Terminal.out("  \(key) = \(value.compactText.clipped)")
                }
                if let values = computed.objectValue, !values.isEmpty {
                    Terminal.out("\ncomputed traits")
                    for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                        Terminal.out("  \(key) = \(value.compactText.clipped)")
                    }
                }
                Terminal.out("\naudiences")
                for audience in audiences.arrayValue ?? [] {
                    Terminal.out("  \(audience["audienceKey"].cell)  (since \(audience["enteredAt"].cell))")
                }
                Terminal.out("\nsubscriptions")
                for contact in subscriptions {
                    for channel in contact["channels"]?.arrayValue ?? [] {
                        Terminal.out("  \(channel["type"].cell) \(contact["key"].cell): \(channel["status"].cell)")
                        for group in channel["groups"]?.arrayValue ?? [] {
                            Terminal.out("    group \(group["name"].cell): \(group["effectiveStatus"].cell)")
                        }
                    }
                }
                Terminal.out("\nrecent events")
                for event in recent.arrayValue ?? [] {
                    let name = event["event"]?.stringValue ?? event["type"].cell
                    Terminal.out("  \(event["timestamp"].cell)  \(name)")
                }
                return 0
            }
        }

        func profile(_ space: SpaceClient, _ lookup: String, _ endpoint: String, _ query: [(String, String)] = [])
            async throws(CLIError) -> JSONValue
        {
            try await space.expect(
                .GET, .profiles, "/collections/users/profiles/\(EngageAPI.segment(lookup))/\(endpoint)", query: query,
                doing: "reading the profile's \(endpoint)")
        }
    }
}

/// `engage subscriptions get|set`: a contact's four-state subscriptions.
struct SubscriptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriptions", abstract: "Read and set a contact's subscription states.",
        subcommands: [Get.self, Set.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A contact's states by channel and group.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An email address or phone number.") var contact: String

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let space = try await session.space()
                let state = try await space.expect(
                    .GET, .subscriptions, "/messaging-subscriptions", query: [("key", contact)],
                    doing: "reading subscriptions")
                let data = state["data"] ?? .null
                if global.json {
                    Terminal.out(data.prettyText)
                    return 0
                }
                var table = Table("CHANNEL", "GROUP", "STATUS", "CHANGED", "SOURCE")
                for channel in data["channels"]?.arrayValue ?? [] {
                    table.add(
                        channel["type"].cell, "-", channel["status"].cell, channel["changedAt"].cell,
                        channel["source"].cell)
                    for group in channel["groups"]?.arrayValue ?? [] {
                        table.add(
                            channel["type"].cell, group["name"].cell, group["effectiveStatus"].cell,
                            group["changedAt"].cell,
                            group["source"].cell)
                    }
                }
                Terminal.out(table.text)
                return 0
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a contact's state on a channel, or in email groups.",
            discussion:
                "Example: engage subscriptions set ada@example.com --channel email --status unsubscribed --group Newsletter=subscribed"
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An email address or phone number.") var contact: String
        @Option(help: "EMAIL, SMS or WHATSAPP.") var channel: String
        @Option(
            help: "subscribed, unsubscribed or did_not_subscribe (the channel's state; leave out to set only groups).")
        var status: String?
        @Option(help: ArgumentHelp("An email group's state, as NAME=STATUS; repeatable.", valueName: "name=status"))
        var group: [String] = []

        func validate() throws {
            if status == nil, group.isEmpty { throw ValidationError("give --status, --group, or both") }
            for entry in group where !entry.contains("=") {
                throw ValidationError("--group takes NAME=STATUS; got \(entry)")
            }
        }

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let space = try await session.space()
                var item: [String: JSONValue] = ["key": .string(contact), "type": .string(channel.uppercased())]
                if let status { item["status"] = .string(status.uppercased()) }
                if !group.isEmpty {
                    item["groups"] = .array(
                        group.map { entry in
                            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                            return .object(["name": .string(parts[0]), "status": .string(parts[1].uppercased())])
                        })
                }
                let answer = try await space.expect(
                    .PUT, .subscriptions, "/messaging-subscriptions",
                    json: .object(["subscriptions": .array([.object(item)])]), doing: "setting subscriptions")
                let result = answer["data"]?["results"]?.arrayValue?.first ?? .null
                if global.json {
                    Terminal.out(result.prettyText)
                } else {
                    for state in result["states"]?.arrayValue ?? [] {
                        let scope = state["group"]?.stringValue.map { "group \($0)" } ?? state["channel"].cell
                        Terminal.out("\(scope): \(state["status"].cell) (\(state["kind"].cell))")
                    }
                }
                if result["result"]?.stringValue == "rejected" {
                    let errors = (result["errors"]?.arrayValue ?? []).map {
                        "  " + ($0["message"]?.stringValue ?? $0.compactText)
                    }
                    // A contact's channel state and its group states are separate changes: some may have applied.
                    let applied = (result["states"]?.arrayValue ?? []).contains { $0["kind"]?.stringValue == "applied" }
                    let summary =
                        applied
                        ? "part of the subscription change was refused (the lines above say what applied)"
                        : "the subscription change was refused"
                    throw CLIError(ExitStatus.refusedInput, [summary] + errors)
                }
                return 0
            }
        }
    }
}
