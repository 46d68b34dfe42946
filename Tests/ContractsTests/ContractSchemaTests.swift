import Foundation
import Testing

@testable import Contracts

/// The published JSON Schemas (Shared/Contracts/Schemas) are what the contracts' own definitions say,
/// and no change to a contract breaks a reader one version behind. `ENGAGE_UPDATE_SCHEMAS=1 swift test
/// --filter ContractSchemaTests` rewrites the files after a compatible change (it refuses a breaking one).
struct ContractSchemaTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Shared/Contracts/Schemas")
    static let updating = ProcessInfo.processInfo.environment["ENGAGE_UPDATE_SCHEMAS"] == "1"

    static func text(_ schema: ContractSchema, contract: String) throws -> String {
        let data = try JSONSerialization.data(
            withJSONObject: schema.jsonSchema(title: contract),
            options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    @Test(arguments: ContractCatalog.all.map(\.contract))
    func thePublishedSchemaIsTheContractsOwnAndCompatible(contract: String) throws {
        let type = try #require(ContractCatalog.all.first { $0.contract == contract }?.type)
        let schema = try ContractCatalog.schema(of: type)
        let file = Self.directory.appendingPathComponent(ContractCatalog.fileName(of: contract))
        let generated = try Self.text(schema, contract: contract)
        guard let committed = try? String(contentsOf: file, encoding: .utf8) else {
            if Self.updating {
                try generated.write(to: file, atomically: true, encoding: .utf8)
                return
            }
            Issue.record(
                "\(file.lastPathComponent) is missing: run ENGAGE_UPDATE_SCHEMAS=1 swift test --filter ContractSchemaTests"
            )
            return
        }
        let previous = try ContractSchema(jsonSchema: JSONSerialization.jsonObject(with: Data(committed.utf8)))
        let breaking = ContractCompatibility.breakingChanges(from: previous, to: schema)
        #expect(
            breaking.isEmpty,
            "\(contract) changed incompatibly; publish it as a new contract version instead:\n\(breaking.joined(separator: "\n"))"
        )
        if committed != generated {
            if Self.updating && breaking.isEmpty {
                try generated.write(to: file, atomically: true, encoding: .utf8)
            } else {
                Issue.record(
                    "\(file.lastPathComponent) is out of date: run ENGAGE_UPDATE_SCHEMAS=1 swift test --filter ContractSchemaTests"
                )
            }
        }
    }

    @Test
    func everyContractFileBelongsToAContract() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter {
            $0.hasSuffix(".schema.json")
        }
        #expect(Set(files) == Set(ContractCatalog.all.map { ContractCatalog.fileName(of: $0.contract) }))
    }

    // MARK: the probe and the compatibility rules, on small types

    struct Version1: Decodable {
        enum Kind: String, Decodable, CaseIterable { case a, b }
        var id: String
        var count: Int
        var kind: Kind
        var note: String?
        var tags: [String]
        var traits: [String: JSONValue]
        var at: Date
    }

    @Test
    func theProbeDescribesRequiredOptionalEnumsCollectionsAndMaps() throws {
        let schema = try ContractSchema.of(Version1.self)
        guard case .object(let properties, let required, nil) = schema else {
            Issue.record("not an object: \(schema)")
            return
        }
        #expect(required == ["id", "count", "kind", "tags", "traits", "at"])
        #expect(properties["id"] == .string(format: nil))
        #expect(properties["count"] == .integer)
        #expect(properties["kind"] == .enumeration(["a", "b"]))
        #expect(properties["note"] == .nullable(.string(format: nil)))
        #expect(properties["tags"] == .array(.string(format: nil)))
        #expect(properties["traits"] == .object(properties: [:], required: [], additional: .any))
        #expect(properties["at"] == .string(format: "date-time"))
        // What is written can be read back.
        #expect(try ContractSchema(jsonSchema: schema.jsonSchema(title: "t")) == schema)
    }

    private func object(_ properties: [String: ContractSchema], required: Set<String>) -> ContractSchema {
        .object(properties: properties, required: required, additional: nil)
    }

    @Test
    func compatibleChangesPassAndBreakingOnesAreNamed() {
        let old = object(
            ["id": .string(format: nil), "count": .integer, "kind": .enumeration(["a", "b"])],
            required: ["id", "count", "kind"])
        // A new optional field is safe.
        #expect(
            ContractCompatibility.breakingChanges(
                from: old,
                to: object(
                    [
                        "id": .string(format: nil), "count": .integer, "kind": .enumeration(["a", "b"]),
                        "note": .nullable(.string(format: nil)),
                    ],
                    required: ["id", "count", "kind"])
            ).isEmpty)
        let removed = ContractCompatibility.breakingChanges(
            from: old,
            to: object(
                ["id": .string(format: nil), "kind": .enumeration(["a", "b"])],
                required: ["id", "kind"]))
        #expect(removed.count == 1 && removed[0].hasPrefix("count was removed"))
        let retyped = ContractCompatibility.breakingChanges(
            from: old,
            to: object(
                [
                    "id": .string(format: nil), "count": .string(format: nil),
                    "kind": .enumeration(["a", "b"]),
                ], required: ["id", "count", "kind"]))
        #expect(retyped == ["count changed type from integer to string"])
        let newRequired = ContractCompatibility.breakingChanges(
            from: old,
            to: object(
                [
                    "id": .string(format: nil), "count": .integer, "kind": .enumeration(["a", "b"]),
                    "owner": .string(format: nil),
                ],
                required: ["id", "count", "kind", "owner"]))
        #expect(newRequired.count == 1 && newRequired[0].hasPrefix("owner is a new required field"))
        let newValue = ContractCompatibility.breakingChanges(
            from: old,
            to: object(
                ["id": .string(format: nil), "count": .integer, "kind": .enumeration(["a", "b", "c"])],
                required: ["id", "count", "kind"]))
        #expect(newValue.count == 1 && newValue[0].contains("new values c"))
    }
}
