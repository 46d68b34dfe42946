import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceKit

/// Consumes `engage.subscription-commands` (and the `engage.spaces` replica feed): a record that is
/// not a valid command batch goes to the dead-letter topic with the reason; the valid batches of a
/// poll are applied in one transaction, so a crash before the commit redoes them and the command
/// order makes the redo change nothing.
public struct CommandConsumer: BatchHandler {
    public static let maxCommandsPerBatch = 10_000
    let applier: SubscriptionApplier
    let spaces: SpaceAccessReplica
    let logger: Logger

    public init(applier: SubscriptionApplier, spaces: SpaceAccessReplica, logger: Logger) {
        self.applier = applier
        self.spaces = spaces
        self.logger = logger
    }

    enum Input {
        case access(SpaceAccess)
        case commands(SubscriptionCommandBatch)
    }

    static let router = RecordRouter<Input>([
        .init(Topic.spaces) { value throws(InvalidMessage) in .access(try SpaceAccessReplica.decode(value)) },
        .init(Topic.subscriptionCommands) { value throws(InvalidMessage) in .commands(try decode(value)) },
    ])

    public static var topics: [String] { router.topics }

    public func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        let (inputs, failures) = Self.router.decode(batch)
        var commands: [SubscriptionCommandBatch] = []
        var access: [SpaceAccess] = []
        for input in inputs {
            switch input {
            case .access(let value): access.append(value)
            case .commands(let value): commands.append(value)
            }
        }
        if !access.isEmpty { try await spaces.apply(access) }
        if !commands.isEmpty {
            _ = try await applier.apply(commands)
            FreedMemory.returnToSystem()
        }
        return failures
    }

    /// Decodes and checks a command batch; contacts and groups are checked per command when applied.
    public static func decode(_ value: [UInt8]?) throws(InvalidMessage) -> SubscriptionCommandBatch {
        let batch = try InvalidMessage.decodeRecord(
            SubscriptionCommandBatch.self, contract: SubscriptionCommandBatch.contract, from: value)
        guard batch.schemaVersion == 1 else {
            throw InvalidMessage("schemaVersion \(batch.schemaVersion) is not supported (expected 1)")
        }
        guard !batch.id.isEmpty else { throw InvalidMessage("id is empty") }
        guard !batch.spaceId.isEmpty else { throw InvalidMessage("spaceId is empty") }
        guard batch.commands.count <= maxCommandsPerBatch else {
            throw InvalidMessage("\(batch.commands.count) commands; a batch holds at most \(maxCommandsPerBatch)")
        }
        if let index = batch.commands.firstIndex(where: { $0.id.isEmpty }) {
            throw InvalidMessage("commands[\(index)].id is empty")
        }
        // Postgres text cannot hold NUL: such a batch would fail its transaction on every retry.
        let texts =
            [batch.id, batch.spaceId, batch.origin ?? "", batch.correlationId ?? ""]
            + batch.commands.flatMap { [$0.id, $0.contact, $0.group ?? "", $0.reference ?? ""] }
        if texts.contains(where: { $0.utf8.contains(0) }) {
            throw InvalidMessage("a text field contains a NUL character")
        }
        return batch
    }
}
