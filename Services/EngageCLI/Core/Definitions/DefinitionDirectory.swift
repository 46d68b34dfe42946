import Contracts
import Foundation

/// A definitions directory: one JSON file per definition under a folder per kind, and one file
/// per space-wide setting (see docs/cli.md for the layout).
public enum DefinitionDirectory {
    /// Every definition in the directory, or every problem found reading it (unparsable JSON with
    /// its line and column, a file that is not an object, a missing or duplicated name or key,
    /// an entry that belongs to no kind).
    public static func read(_ root: String) throws(CLIError) -> (
        definitions: [Definition], problems: [DefinitionProblem]
    ) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError(ExitStatus.noInput, "\(root) is not a directory")
        }
        var definitions: [Definition] = []
        var problems: [DefinitionProblem] = []
        let known = Set(DefinitionKind.allCases.map { $0.location.split(separator: "/").first.map(String.init)! })
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: root))?.sorted() ?? [] {
            // `secrets/`: where provider files may point (`{"file": "secrets/sendgrid-key"}`); never read as definitions.
            if entry.hasPrefix(".") || entry.lowercased().hasSuffix(".md") || known.contains(entry)
                || entry == "secrets"
            {
                continue
            }
            problems.append(
                DefinitionProblem(
                    entry, "not a definitions file or folder (expected: \(known.sorted().joined(separator: ", ")))"))
        }
        for kind in DefinitionKind.allCases {
            let path = root + "/" + kind.location
            if kind.isSetting {
                guard FileManager.default.fileExists(atPath: path) else { continue }
                if let body = parse(path, relative: kind.location, problems: &problems) {
                    definitions.append(Definition(kind: kind, body: body, file: kind.location))
                }
                continue
            }
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: path) else { continue }
            var seen: [String: String] = [:]
            for file in files.sorted() where !file.hasPrefix(".") && !file.lowercased().hasSuffix(".md") {
                let relative = kind.location + "/" + file
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: path + "/" + file, isDirectory: &isFolder), isFolder.boolValue
                {
                    problems.append(
                        DefinitionProblem(
                            relative, "a folder: definitions are .json files directly in \(kind.location)/"))
                    continue
                }
                guard file.hasSuffix(".json") else {
                    problems.append(DefinitionProblem(relative, "not a .json file"))
                    continue
                }
                guard let body = parse(path + "/" + file, relative: relative, problems: &problems) else { continue }
                let definition = Definition(kind: kind, body: body, file: relative)
                guard case .string(let name)? = body[kind.identityField],
                    !name.trimmingCharacters(in: .whitespaces).isEmpty
                else {
                    problems.append(
                        DefinitionProblem(relative, "\(kind.identityField) is required (a non-empty string)"))
                    continue
                }
                if let other = seen[definition.identity] {
                    problems.append(
                        DefinitionProblem(relative, "\(kind.identityField) \(name) is already defined by \(other)"))
                    continue
                }
                seen[definition.identity] = relative
                definitions.append(definition)
            }
        }
        return (definitions, problems)
    }

    private static func parse(_ path: String, relative: String, problems: inout [DefinitionProblem]) -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: path) else {
            problems.append(DefinitionProblem(relative, "cannot be read"))
            return nil
        }
        let bytes = [UInt8](data)
        do {
            let value = try JSONParser.parse(bytes)
            guard case .object = value else {
                problems.append(DefinitionProblem(relative, "must be a JSON object"))
                return nil
            }
            return value
        } catch {
            let (line, column) = position(of: error.offset, in: bytes)
            problems.append(DefinitionProblem("\(relative):\(line):\(column)", "invalid JSON: \(error.reason)"))
            return nil
        }
    }

    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes.prefix(offset) {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    /// Writes the definitions, one file each. The definition files already there are replaced
    /// (other files, such as a README or `secrets/`, stay), and a provider file keeps the secret
    /// references it had (`{"file": ...}` stays a file).
    public static func write(_ definitions: [Definition], to root: String) throws(CLIError) {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: root, withIntermediateDirectories: true)
            var kept: [DefinitionKind: [String: JSONValue]] = [:]
            for kind in DefinitionKind.allCases {
                let path = root + "/" + kind.location
                if kind.isSetting {
                    if let data = manager.contents(atPath: path),
                        case .object(let old)? = try? JSONParser.parse([UInt8](data))
                    {
                        kept[kind] = old.filter { ProviderSecrets.fields(of: kind).contains($0.key) }
                    }
                    if manager.fileExists(atPath: path) { try manager.removeItem(atPath: path) }
                    continue
                }
                for file in (try? manager.contentsOfDirectory(atPath: path)) ?? [] where file.hasSuffix(".json") {
                    try manager.removeItem(atPath: path + "/" + file)
                }
            }
            var used: Set<String> = []
            for definition in definitions {
                let relative: String
                var body = definition.body
                if definition.kind.isSetting {
                    relative = definition.kind.location
                    if case .object(var members) = body {
                        for (field, reference) in kept[definition.kind] ?? [:] where members[field] != nil {
                            members[field] = reference
                        }
                        body = .object(members)
                    }
                } else {
                    relative = uniqueFileName(for: definition, used: &used)
                }
                let path = root + "/" + relative
                try manager.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data((body.prettyText + "\n").utf8).write(to: URL(fileURLWithPath: path))
            }
        } catch {
            throw CLIError(ExitStatus.cannotCreate, "cannot write \(root): \(error.localizedDescription)")
        }
    }

    /// `templates/welcome.sms.json`, `audiences/vip.json`: the name made file-safe, numbered when two collide.
    static func uniqueFileName(for definition: Definition, used: inout Set<String>) -> String {
        var stem = slug(definition.body[definition.kind.identityField]?.stringValue ?? "definition")
        if definition.kind == .template, let channel = definition.body["channel"]?.stringValue {
            stem += "." + channel.lowercased()
        }
        var candidate = "\(definition.kind.location)/\(stem).json"
        var number = 2
        while used.contains(candidate.lowercased()) {
            candidate = "\(definition.kind.location)/\(stem)-\(number).json"
            number += 1
        }
        used.insert(candidate.lowercased())
        return candidate
    }

    static func slug(_ name: String) -> String {
        var result = ""
        var lastWasDash = false
        for scalar in name.lowercased().unicodeScalars {
            if scalar.isASCII, CharacterSet.alphanumerics.contains(scalar) || scalar == "_" {
                result.unicodeScalars.append(scalar)
                lastWasDash = false
            } else if !lastWasDash, !result.isEmpty {
                result.append("-")
                lastWasDash = true
            }
        }
        while result.hasSuffix("-") { result.removeLast() }
        return result.isEmpty ? "definition" : String(result.prefix(80))
    }
}
