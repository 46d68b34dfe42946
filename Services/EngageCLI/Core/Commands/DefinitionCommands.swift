import ArgumentParser
import Contracts
import EngageClient
import Foundation

/// `engage export DIR`: the space's definitions as files.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the space's definitions to a directory (secrets as references, never values).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The directory (created if needed; its definition folders are replaced).") var directory: String

    func run() async throws {
        try await global.run { session throws(CLIError) in
            let space = try await session.space()
            let remote = try await RemoteSpace.read(space)
            for warning in remote.warnings { Terminal.err("warning: " + warning) }
            for problem in remote.duplicates { Terminal.err("warning: " + problem.description) }
            try DefinitionDirectory.write(remote.definitions, to: directory)
            let counts = Dictionary(grouping: remote.definitions, by: \.kind).mapValues(\.count)
            if global.json {
                var summary: [String: JSONValue] = [:]
                for (kind, count) in counts { summary[kind.rawValue] = .number(Double(count)) }
                Terminal.out(
                    JSONValue.object(["directory": .string(directory), "definitions": .object(summary)]).prettyText)
            } else {
                let parts = DefinitionKind.allCases.compactMap { kind in counts[kind].map { "\($0) \(kind.rawValue)" } }
                Terminal.out(
                    "exported \(remote.definitions.count) definitions to \(directory): \(parts.joined(separator: ", "))"
                )
            }
            return 0
        }
    }
}

/// Reading a directory and a space, and checking the directory against both: shared by diff and apply.
struct DefinitionOptions: ParsableArguments {
    @Argument(help: "The definitions directory.") var directory: String
    @Flag(
        help: "Leave definitions the directory does not list in place (by default they are deleted; journeys archived)."
    )
    var keepUnlisted = false

    func prepare(_ space: SpaceClient) async throws(CLIError) -> (plan: Plan, remote: RemoteSpace, local: [Definition])
    {
        let (local, readProblems) = try DefinitionDirectory.read(directory)
        let remote = try await RemoteSpace.read(space)
        let problems = readProblems + remote.duplicates + Validation.problems(local, remote: remote)
        if !problems.isEmpty { throw refusal(problems) }
        let plan = Plan.make(local: local, remote: remote, keepUnlisted: keepUnlisted)
        return (plan, remote, local)
    }

    func refusal(_ problems: [DefinitionProblem]) -> CLIError {
        CLIError(
            ExitStatus.refusedInput,
            ["\(directory): \(problems.count) problem\(problems.count == 1 ? "" : "s"); nothing was changed"]
                + problems.map { "  " + $0.description })
    }
}

/// `engage diff DIR`: what apply would change.
struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what apply would change (exit status 0: nothing, 1: changes, 65: the directory has problems).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var definitions: DefinitionOptions

    func run() async throws {
        try await global.run { session throws(CLIError) in
            let space = try await session.space()
            let (plan, _, _) = try await definitions.prepare(space)
            Terminal.out(global.json ? plan.json.prettyText : plan.text)
            return plan.isEmpty ? 0 : ExitStatus.differences
        }
    }
}

/// `engage apply DIR [--dry-run]`: make the space match the directory.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the space match the directory; every problem is reported before anything changes.",
        discussion: """
            Creates and changes in dependency order (providers and send policy, groups, templates, \
            audiences, computed traits, journeys, destinations), then deletes what the directory does \
            not list (journeys are archived). A changed journey is published as a new version, with the \
            file's stepMapping. A second apply changes nothing.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var definitions: DefinitionOptions
    @Flag(help: "Only show what would change (exit status 1 when something would).") var dryRun = false
    @Flag(help: "Also send provider secrets when the settings are otherwise unchanged (after rotating a key).")
    var updateSecrets = false
    @Flag(help: "Allow a directory that defines nothing (it deletes every definition of the space).")
    var allowEmpty = false

    func run() async throws {
        try await global.run { session throws(CLIError) in
            let space = try await session.space()
            var (plan, remote, local) = try await definitions.prepare(space)
            if updateSecrets {
                let changed = Set(plan.changes.map(\.label))
                for definition in local.map(Normalization.normalized)
                where [.sendGrid, .twilio].contains(definition.kind) && !changed.contains(definition.label) {
                    if let existing = remote.definitions.first(where: { $0.kind == definition.kind }) {
                        let note = JSONDiff.Change(path: "secrets", operation: .change, from: nil, to: "sent again")
                        plan.changes.insert(.update(local: definition, remote: existing, changes: [note]), at: 0)
                        plan.unchanged -= 1
                    }
                }
            }
            let environment = ProcessInfo.processInfo.environment
            // A directory that defines nothing is almost always the wrong directory.
            let deletions = plan.changes.filter { if case .delete = $0 { true } else { false } }.count
            if local.isEmpty, deletions > 0, !allowEmpty {
                throw definitions.refusal([
                    DefinitionProblem(
                        definitions.directory,
                        "defines nothing, so apply would delete all \(deletions) definitions of the space; pass --allow-empty if that is the intent"
                    )
                ])
            }
            // Every secret reference must resolve, changed or not: a broken one would surface only at the next change.
            let secretProblems = local.filter { [.sendGrid, .twilio].contains($0.kind) }.flatMap {
                ProviderSecrets.resolved($0, root: definitions.directory, environment: environment).problems
            }
            if !secretProblems.isEmpty { throw definitions.refusal(secretProblems) }
            var applier = Applier(
                space: space, root: definitions.directory, environment: environment, remote: remote,
                report: { line in if !global.json { Terminal.out(line) } })
            let problems = try await applier.dryRunProblems(plan)
            if !problems.isEmpty { throw definitions.refusal(problems) }
            if dryRun || plan.isEmpty {
                Terminal.out(global.json ? plan.json.prettyText : plan.text)
                return dryRun && !plan.isEmpty ? ExitStatus.differences : 0
            }
            try await applier.apply(plan)
            if global.json {
                var result = plan.json.objectValue ?? [:]
                result["destinationSecrets"] = .object(applier.createdSecrets.mapValues(JSONValue.string))
                Terminal.out(JSONValue.object(result).prettyText)
            } else {
                Terminal.out("Applied: " + plan.summary)
            }
            return 0
        }
    }
}
