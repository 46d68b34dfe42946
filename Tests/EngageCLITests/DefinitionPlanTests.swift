import ArgumentParser
import Contracts
import Foundation
import Testing

@testable import EngageCLICore

/// The parts of `engage diff|apply` that decide what changes, without a space: normalization (a
/// file that leaves a default out is not a difference), references, ordering, and the checks that
/// refuse a directory before anything changes.
struct DefinitionPlanTests {
    func definition(_ kind: DefinitionKind, _ json: String, file: String? = nil) throws -> Definition {
        Definition(kind: kind, body: try JSONParser.parse(Array(json.utf8)), file: file)
    }

    func remote(_ definitions: [Definition]) -> RemoteSpace {
        var space = RemoteSpace()
        space.definitions = definitions
        return space
    }

    @Test func aMarketingSMSFileWithoutStopMatchesWhatTheSpaceStored() throws {
        let file = try definition(.template, #"{"name": " Promo ", "channel": "sms", "content": {"body": "20% off"}}"#)
        let stored = try definition(
            .template,
            #"{"name": "Promo", "channel": "SMS", "purpose": "marketing", "content": {"body": "20% off\nReply STOP to unsubscribe."}}"#
        )
        let plan = Plan.make(local: [file], remote: remote([stored]), keepUnlisted: false)
        #expect(plan.isEmpty)
        #expect(plan.unchanged == 1)
        // Transactional or WhatsApp: no notice, so the same body differs.
        let transactional = try definition(
            .template,
            #"{"name": "Promo", "channel": "SMS", "purpose": "transactional", "content": {"body": "20% off"}}"#)
        #expect(Normalization.normalized(transactional).body["content"]?["body"] == "20% off")
    }

    @Test func defaultsLeftOutAreNotDifferences() throws {
        let local = [
            try definition(.audience, #"{"key": "vip", "definition": {"type": "trait", "trait": "plan"}}"#),
            try definition(.destination, #"{"name": "Hook", "url": "https://example.com/h"}"#),
            try definition(.sendPolicy, #"{"quietHours": {"start": "21:00", "end": "08:00"}}"#),
            try definition(
                .journey, #"{"name": "J", "definition": {"start": "a", "steps": [{"id": "a", "type": "exit"}]}}"#),
        ]
        let stored = [
            try definition(
                .audience,
                #"{"key": "vip", "name": "vip", "description": "", "definition": {"trait": "plan", "type": "trait"}}"#),
            try definition(
                .destination, #"{"name": "Hook", "url": "https://example.com/h", "events": [], "enabled": true}"#),
            try definition(
                .sendPolicy,
                #"{"frequencyCap": null, "quietHours": {"start": "21:00", "end": "08:00", "timeZoneTrait": "timezone", "defaultTimeZone": "UTC"}}"#
            ),
            try definition(
                .journey,
                #"{"name": "J", "status": "published", "definition": {"start": "a", "steps": [{"id": "a", "type": "exit"}]}}"#
            ),
        ]
        let plan = Plan.make(local: local, remote: remote(stored), keepUnlisted: false)
        #expect(plan.isEmpty, "\(plan.text)")
    }

    @Test func changesAreListedByPathAndUnlistedDefinitionsDeletedUnlessKept() throws {
        let local = [try definition(.audience, #"{"key": "vip", "definition": {"type": "trait", "value": 2}}"#)]
        let stored = [
            try definition(
                .audience,
                #"{"key": "vip", "name": "vip", "description": "", "definition": {"type": "trait", "value": 1}}"#),
            try definition(.template, #"{"name": "Old", "channel": "SMS", "purpose": "marketing", "content": {}}"#),
            try definition(.sendPolicy, #"{"frequencyCap": null, "quietHours": null}"#),
        ]
        let plan = Plan.make(local: local, remote: remote(stored), keepUnlisted: false)
        #expect(plan.text.contains("~ audience vip\n    ~ definition.value: 1 -> 2"))
        #expect(plan.text.contains("- template SMS/Old"))
        #expect(!plan.text.contains("send-policy"), "a setting the directory leaves out is not managed")
        let kept = Plan.make(local: local, remote: remote(stored), keepUnlisted: true)
        #expect(kept.changes.count == 1)
    }

    @Test func audiencesAreCreatedAfterTheAudiencesTheyName() throws {
        let local = [
            try definition(.journey, #"{"name": "A", "definition": {}}"#),
            try definition(.audience, #"{"key": "a_both", "definition": {"type": "audience", "audience": "z_base"}}"#),
            try definition(.audience, #"{"key": "z_base", "definition": {"type": "trait"}}"#),
            try definition(.template, #"{"name": "T", "channel": "SMS", "content": {}}"#),
        ]
        let order = Plan.ordered(local).map(\.label)
        #expect(order == ["template SMS/T", "audience z_base", "audience a_both", "journey A"])
    }

    @Test func referencesTranslateBetweenIdsAndKeys() throws {
        let stored = try JSONParser.parse(
            Array(
                #"{"entry": {"type": "audience", "audienceId": "aud_1"}, "steps": [{"id": "s", "type": "send", "channel": "SMS", "templateId": "tpl_1", "templateVersion": 2}]}"#
                    .utf8))
        var warnings: [String] = []
        let portable = PortableForm.fromSpace(
            stored, audienceKeys: ["aud_1": "vip"], templates: ["tpl_1": ("Promo", "SMS")], place: "journey J",
            warnings: &warnings)
        #expect(portable["entry"]?["audienceId"] == "vip")
        #expect(portable["steps"]?.arrayValue?.first?["template"] == "Promo")
        #expect(portable["steps"]?.arrayValue?.first?["templateVersion"] == 2, "a pin stays: it converges")
        #expect(warnings.isEmpty)
        let back = PortableForm.toSpace(portable, audienceIds: ["vip": "aud_2"], templateIds: ["SMS/promo": "tpl_2"])
        #expect(back["entry"]?["audienceId"] == "aud_2")
        #expect(back["steps"]?.arrayValue?.first?["templateId"] == "tpl_2")
        #expect(back["steps"]?.arrayValue?.first?["template"] == nil)
    }

    @Test func everyProblemIsFoundBeforeAnythingChanges() throws {
        let local = [
            try definition(.template, #"{"name": "Fax", "channel": "FAX", "content": {}}"#, file: "templates/fax.json"),
            try definition(
                .template, #"{"name": "Promo", "channel": "SMS", "purpose": "transactional", "content": {}}"#,
                file: "templates/p.json"),
            try definition(
                .journey,
                #"{"name": "J", "status": "draft", "definition": {"entry": {"audienceId": "nobody"}, "start": "x", "steps": [{"id": "a", "type": "send", "channel": "SMS", "template": "Missing", "next": "b"}, {"id": "a"}]}}"#,
                file: "journeys/j.json"),
            try definition(
                .messagingDestination,
                #"{"name": "D", "audienceId": "vip", "actions": [{"type": "send_fax", "templateId": "tpl_1"}]}"#,
                file: "messaging-destinations/d.json"),
        ]
        var space = remote([
            try definition(.template, #"{"name": "Promo", "channel": "SMS", "purpose": "marketing", "content": {}}"#)
        ])
        space.journeys["J"] = ("published", [])
        let problems = Validation.problems(local, remote: space).map(\.description)
        let expected = [
            "templates/fax.json: channel must be EMAIL, SMS or WHATSAPP",
            "templates/p.json: purpose cannot change from marketing",
            "journeys/j.json: status draft: the journey is published",
            "journeys/j.json: definition.steps: two steps have id a",
            "journeys/j.json: definition.start: no step x",
            "journeys/j.json: step a: next names no step (b)",
            "journeys/j.json: names audience nobody",
            "journeys/j.json: names SMS template Missing",
            "messaging-destinations/d.json: actions[0].type must be send_sms",
            "messaging-destinations/d.json: actions[0]: name the template with",
            "messaging-destinations/d.json: names audience vip",
        ]
        for text in expected {
            #expect(problems.contains { $0.hasPrefix(text) }, "\(text) missing from \(problems)")
        }
    }

    @Test func typosCirclesAndDanglingNamesAreProblems() throws {
        let local = [
            try definition(
                .audience, #"{"key": "a", "descripton": "x", "definition": {"type": "audience", "audience": "b"}}"#,
                file: "audiences/a.json"),
            try definition(
                .audience, #"{"key": "b", "definition": {"type": "audience", "audience": "a"}}"#,
                file: "audiences/b.json"),
            try definition(
                .audience,
                #"{"key": "c", "definition": {"type": "computed_trait", "trait": "orders", "operator": "greater", "value": 1}}"#,
                file: "audiences/c.json"),
            try definition(.subscriptionGroup, #"{"name": "Bad/Name!"}"#, file: "subscription-groups/bad.json"),
            try definition(
                .destination, #"{"name": "Hook", "url": "not a url", "events": ["Em*ail"]}"#,
                file: "destinations/hook.json"),
            try definition(
                .sendPolicy,
                #"{"frequencyCap": {"messages": 0, "windowSeconds": "a week"}, "quietHours": {"start": "25:00", "end": "08:00", "defaultTimeZone": "Mars/Base"}}"#,
                file: "send-policy.json"),
            try definition(.template, #"{"name": "T", "channel": "SMS", "content": {}}"#, file: "templates/t.json"),
            try definition(
                .journey,
                #"{"name": "J", "definition": {"start": "s", "steps": [{"id": "s", "type": "send", "channel": "SMS", "template": "T", "group": "Nwsletter"}]}}"#,
                file: "journeys/j.json"),
            try definition(.sendGrid, #"{"apiKey": "SG.inline"}"#, file: "providers/sendgrid.json"),
        ]
        let problems = Validation.problems(local, remote: remote([])).map(\.description)
        let expected = [
            "audiences/a.json: unknown field descripton",
            "audiences/a.json: audiences name each other in a circle: a -> b -> a",
            "audiences/c.json: names computed trait orders, which no file in computed-traits/ defines",
            "subscription-groups/bad.json: name must be 1 to 100 letters",
            "destinations/hook.json: url must be an absolute http(s) URL",
            "destinations/hook.json: events must be a list of event names",
            "send-policy.json: frequencyCap must be null or",
            "send-policy.json: quietHours.start must be HH:MM",
            "send-policy.json: quietHours.defaultTimeZone: Mars/Base is not an IANA time zone",
            "journeys/j.json: names subscription group Nwsletter, which no file in subscription-groups/ defines",
            "providers/sendgrid.json: apiKey: a secret is never written in a file",
        ]
        for text in expected {
            #expect(problems.contains { $0.hasPrefix(text) }, "\(text) missing from \(problems)")
        }
        #expect(problems.filter { $0.contains("circle") }.count == 1, "one cycle, reported once")
    }

    @Test func aStepMappingMustLeadFromThePublishedVersionToTheNewDefinition() throws {
        let published = #"{"start": "a", "steps": [{"id": "a", "type": "exit"}]}"#
        let stored = try definition(.journey, #"{"name": "J", "status": "published", "definition": \#(published)}"#)
        let file = try definition(
            .journey,
            #"{"name": "J", "stepMapping": {"a": "b", "ghost": "b", "a2": "nowhere"}, "definition": {"start": "b", "steps": [{"id": "b", "type": "exit"}]}}"#,
            file: "journeys/j.json")
        var space = remote([stored])
        space.journeys["J"] = ("published", ["a"])
        let problems = Validation.problems([file], remote: space).map(\.description)
        #expect(problems.contains("journeys/j.json: stepMapping: ghost is not a step of the published version"))
        #expect(problems.contains("journeys/j.json: stepMapping: a2 -> nowhere: no step nowhere in the definition"))
        #expect(!problems.contains { $0.contains("stepMapping: a ") })
        // Once published, the same file is not published again, so an old mapping is no problem.
        let same = try definition(
            .journey, #"{"name": "J", "stepMapping": {"ghost": "x"}, "definition": \#(published)}"#,
            file: "journeys/j.json")
        #expect(Validation.problems([same], remote: space).isEmpty)
    }

    @Test func listsThatGrowShowEachNewElement() throws {
        let old = try JSONParser.parse(Array(#"{"conditions": [{"a": 1}]}"#.utf8))
        let new = try JSONParser.parse(Array(#"{"conditions": [{"a": 2}, {"b": 3}]}"#.utf8))
        #expect(JSONDiff.lines(from: old, to: new) == ["~ conditions[0].a: 1 -> 2", "+ conditions[1]: {\"b\":3}"])
        #expect(
            JSONDiff.changes(from: new, to: old).last?.json == [
                "path": "conditions[1]", "op": "remove", "from": ["b": 3],
            ])
    }

    @Test func exportKeepsOtherFilesAndTheSecretReferencesAlreadyThere() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("engage-export-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/templates", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/providers", withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: root + "/templates/README.md"))
        try Data(#"{"name": "Gone", "channel": "SMS", "content": {}}"#.utf8).write(
            to: URL(fileURLWithPath: root + "/templates/gone.sms.json"))
        try Data(#"{"apiKey": {"file": "secrets/sendgrid"}}"#.utf8).write(
            to: URL(fileURLWithPath: root + "/providers/sendgrid.json"))
        try DefinitionDirectory.write(
            [
                try definition(.template, #"{"name": "New", "channel": "SMS", "content": {}}"#),
                try definition(.sendGrid, #"{"apiKey": {"env": "ENGAGE_SENDGRID_API_KEY"}, "fromAddress": "a@b.c"}"#),
            ], to: root)
        let templates = try FileManager.default.contentsOfDirectory(atPath: root + "/templates").sorted()
        #expect(templates == ["README.md", "new.sms.json"])
        let provider = try JSONParser.parse(
            [UInt8](FileManager.default.contents(atPath: root + "/providers/sendgrid.json")!))
        #expect(provider["apiKey"] == ["file": "secrets/sendgrid"])
        #expect(provider["fromAddress"] == "a@b.c")
    }

    @Test func aDirectoryWithBrokenFilesReportsEachWithItsPlace() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("engage-dir-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/audiences", withIntermediateDirectories: true)
        try Data("{\"key\": \"a\",\n \"definition\": {\"type\": }}".utf8).write(
            to: URL(fileURLWithPath: root + "/audiences/a.json"))
        try Data(#"{"key": "b", "definition": {}}"#.utf8).write(to: URL(fileURLWithPath: root + "/audiences/b.json"))
        try Data(#"{"key": "b", "definition": {}}"#.utf8).write(to: URL(fileURLWithPath: root + "/audiences/c.json"))
        try Data("[]".utf8).write(to: URL(fileURLWithPath: root + "/send-policy.json"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
        let (definitions, problems) = try DefinitionDirectory.read(root)
        #expect(definitions.map(\.label) == ["audience b"])
        let text = problems.map(\.description)
        #expect(text.contains { $0.hasPrefix("audiences/a.json:2:25: invalid JSON") }, "\(text)")
        #expect(text.contains("audiences/c.json: key b is already defined by audiences/b.json"))
        #expect(text.contains("send-policy.json: must be a JSON object"))
        #expect(text.contains { $0.hasPrefix("notes.txt: not a definitions file or folder") })
    }

    @Test func exportNamesFilesAfterTheirDefinitions() throws {
        var used: Set<String> = []
        let welcome = try definition(.template, #"{"name": "Welcome / Día 1", "channel": "EMAIL"}"#)
        #expect(DefinitionDirectory.uniqueFileName(for: welcome, used: &used) == "templates/welcome-d-a-1.email.json")
        let journey = try definition(.journey, #"{"name": "VIP welcome"}"#)
        let twin = try definition(.journey, #"{"name": "VIP Welcome!"}"#)
        #expect(DefinitionDirectory.uniqueFileName(for: journey, used: &used) == "journeys/vip-welcome.json")
        #expect(DefinitionDirectory.uniqueFileName(for: twin, used: &used) == "journeys/vip-welcome-2.json")
    }

    @Test func providerSecretsAreReadFromTheEnvironmentOrFilesAndNeverFromTheFileItself() throws {
        let settings = try definition(
            .sendGrid, #"{"apiKey": {"env": "KEY"}, "fromAddress": "a@b.c"}"#, file: "providers/sendgrid.json")
        let resolved = ProviderSecrets.resolved(settings, root: "/nowhere", environment: ["KEY": "SG.x"])
        #expect(resolved.problems.isEmpty)
        #expect(resolved.body["apiKey"] == "SG.x")
        let missing = ProviderSecrets.resolved(settings, root: "/nowhere", environment: [:])
        #expect(
            missing.problems.map(\.description) == [
                "providers/sendgrid.json: apiKey: environment variable KEY is not set"
            ])
        let inline = try definition(.sendGrid, #"{"apiKey": "SG.secret"}"#, file: "providers/sendgrid.json")
        #expect(ProviderSecrets.resolved(inline, root: "/", environment: [:]).problems.count == 1)
        // Never compared: the space cannot tell its secrets.
        #expect(Normalization.comparable(settings)["apiKey"] == nil)
    }
}

struct ConnectionTests {
    @Test func flagsOverrideTheEnvironmentWhichOverridesTheProfile() throws {
        let file = ConfigFile(
            current: "prod",
            profiles: [
                "prod": .init(
                    token: "file-token", urls: ["profiles": "https://profiles.example.com"], brokers: "kafka:9092"),
                "dev": .init(token: "dev-token"),
            ])
        let fromFile = try Connection.resolve(file: file, environment: [:], options: ConnectionOptions())
        #expect(fromFile.profileName == "prod" && fromFile.token == "file-token" && fromFile.brokers == "kafka:9092")
        #expect(fromFile.urls[.profiles]?.absoluteString == "https://profiles.example.com")
        #expect(fromFile.urls[.journeys]?.absoluteString == "http://127.0.0.1:8084")
        let environment = ["ENGAGE_TOKEN": "env-token", "ENGAGE_MESSAGING_SEND_URL": "http://m:1"]
        let fromEnvironment = try Connection.resolve(file: file, environment: environment, options: ConnectionOptions())
        #expect(fromEnvironment.token == "env-token")
        #expect(fromEnvironment.urls[.messaging]?.absoluteString == "http://m:1")
        let fromFlags = try Connection.resolve(
            file: file, environment: environment, options: ConnectionOptions(profile: "dev", token: "flag-token"))
        #expect(fromFlags.token == "flag-token" && fromFlags.profileName == "dev")
        #expect(throws: CLIError.self) {
            try Connection.resolve(file: file, environment: [:], options: ConnectionOptions(profile: "missing"))
        }
        #expect(throws: CLIError.self) {
            try Connection.resolve(
                file: file, environment: ["ENGAGE_PROFILES_URL": "ftp://x"], options: ConnectionOptions())
        }
    }

    @Test func sourceEventFiltersAreShellPatterns() {
        #expect(TailCommand.SourceEvents.matches("Email Delivered", pattern: "Email *"))
        #expect(!TailCommand.SourceEvents.matches("SMS Delivered", pattern: "Email *"))
        #expect(TailCommand.SourceEvents.matches("Audience Entered", pattern: "Audience ?ntered"))
    }
}

struct CommandTreeTests {
    /// ArgumentParser checks a command's options only when that command runs; the completion script
    /// walks every command, so a clash (two `--profile` options) fails here instead of in the field.
    @Test func everyCommandParsesAndCompletes() throws {
        for shell in [CompletionShell.bash, .zsh, .fish] {
            #expect(!Engage.completionScript(for: shell).isEmpty)
        }
        let apply = try Engage.parseAsRoot(["apply", "./space", "--dry-run", "--keep-unlisted", "--json"])
        #expect(apply is Apply)
        #expect(throws: (any Error).self) { try Engage.parseAsRoot(["apply"]) }
    }
}
