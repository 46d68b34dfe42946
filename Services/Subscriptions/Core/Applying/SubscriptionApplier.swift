import Contracts
import Foundation
import Logging
import Metrics
import Persistence
import PostgresNIO

/// Thrown when another transaction created a state this one also wanted to create; the whole
/// batch is retried and then sees (and locks) that state.
struct ConcurrentStateCreation: RetryableFailure, CustomStringConvertible {
    var description: String { "a subscription state was created concurrently; retrying" }
}

/// Applies command batches in one transaction: normalises contacts, resolves groups, locks the
/// states concerned, decides each command with `SubscriptionRules` in order, then writes states,
/// the change history and the outbox rows (changes, and results for batches that asked) together.
public final class SubscriptionApplier: Sendable {
    private let db: PostgresClient
    private let logger: Logger
    private let counters: [CommandOutcome.Kind: Counter]

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
        var counters: [CommandOutcome.Kind: Counter] = [:]
        for kind in [CommandOutcome.Kind.applied, .unchanged, .superseded, .rejected] {
            counters[kind] = Counter(
                label: "engage_subscription_commands_total", dimensions: [("outcome", kind.rawValue)])
        }
        self.counters = counters
    }

    /// Applies in its own transaction, retrying a lost creation race; outcomes per batch, in order.
    public func apply(_ batches: [SubscriptionCommandBatch]) async throws -> [[CommandOutcome]] {
        var attempt = 0
        while true {
            do {
                return try await db.transaction(logger: logger) { [self] connection in
                    try await apply(batches, on: connection)
                }
            } catch is ConcurrentStateCreation where attempt < 5 {
                attempt += 1
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "40P01" && attempt < 5 {
                attempt += 1  // deadlock between two creators: one was aborted, retry it
            }
        }
    }

    struct Key: Hashable {
        var spaceId: String, channel: SubscriptionChannel, contact: String, groupId: String
    }

    struct Row {
        var snapshot: StateSnapshot
        var statusChangedAt: Date
        var statusSource: String
        var statusOrigin: String?
        var statusCommandId: String
        var existed: Bool
        var dirty = false
    }

    struct Prepared {
        var batchIndex: Int
        var command: SubscriptionCommand
        var key: Key
        var group: SubscriptionChange.GroupRef?
        var order: CommandOrder
    }

    /// The same inside the caller's transaction.
    public func apply(_ batches: [SubscriptionCommandBatch], on connection: PostgresConnection) async throws
        -> [[CommandOutcome]]
    {
        let now = Date()
        var outcomes: [[CommandOutcome?]] = batches.map { Array(repeating: nil, count: $0.commands.count) }
        let groups = try await GroupStore.liveGroups(
            spaces: Set(batches.map(\.spaceId)), on: connection, logger: logger)

        // 1. Validate and normalise; what fails here is rejected without touching any state.
        var prepared: [(Int, Prepared)] = []
        var keys = Set<Key>()
        for (batchIndex, batch) in batches.enumerated() {
            for (commandIndex, var command) in batch.commands.enumerated() {
                do {
                    command.contact = try ContactNormalizer.normalize(command.contact, as: command.channel.contactKind)
                } catch {
                    outcomes[batchIndex][commandIndex] = .rejected(
                        command, command.channel == .email ? .invalidEmail : .invalidPhone, error.reason)
                    continue
                }
                var groupRef: SubscriptionChange.GroupRef?
                if let name = command.group {
                    guard command.channel == .email else {
                        outcomes[batchIndex][commandIndex] = .rejected(
                            command, .groupNotOnEmail,
                            "subscription groups exist for EMAIL only, not \(command.channel.rawValue)")
                        continue
                    }
                    guard let group = groups[batch.spaceId]?.find(name) else {
                        outcomes[batchIndex][commandIndex] = .rejected(
                            command, .unknownGroup, "no subscription group named \"\(name)\" in space \(batch.spaceId)")
                        continue
                    }
                    groupRef = SubscriptionChange.GroupRef(id: group.id, name: group.name)
                    keys.insert(Key(spaceId: batch.spaceId, channel: .email, contact: command.contact, groupId: ""))
                }
                let key = Key(
                    spaceId: batch.spaceId, channel: command.channel, contact: command.contact,
                    groupId: groupRef?.id ?? "")
                keys.insert(key)
                let order = CommandOrder(
                    micros: command.occurredAt.micros, sequence: command.sequence, commandId: command.id)
                prepared.append(
                    (
                        commandIndex,
                        Prepared(batchIndex: batchIndex, command: command, key: key, group: groupRef, order: order)
                    ))
            }
        }

        // 2. Lock the existing states concerned, in one global order.
        var rows = try await lockStates(Array(keys), on: connection)

        // 3. Decide in order.
        var changes: [SubscriptionChange] = []
        var pendingChange: [Key: Int] = [:]
        var rowBefore: [Key: Row?] = [:]
        for (commandIndex, item) in prepared {
            let batch = batches[item.batchIndex]
            let command = item.command
            let global =
                item.group == nil
                ? nil
                : rows[Key(spaceId: batch.spaceId, channel: .email, contact: command.contact, groupId: "")]?.snapshot
            let current = rows[item.key]
            let decision = SubscriptionRules.decide(
                status: command.status, channel: command.channel, isGroup: item.group != nil,
                source: batch.source, order: item.order, current: current?.snapshot, globalEmail: global)
            var outcome = CommandOutcome(
                commandId: command.id, reference: command.reference, channel: command.channel, contact: command.contact,
                group: item.group?.name, kind: .unchanged, previousStatus: current?.snapshot.status,
                status: current?.snapshot.status)
            switch decision {
            case .superseded:
                outcome.kind = .superseded
            case .reject(let code, let message):
                outcome.kind = .rejected
                outcome.code = code
                outcome.message = message
            case .unchanged(let byReply):
                rows[item.key]!.snapshot.order = item.order
                rows[item.key]!.snapshot.optedOutByReply = byReply
                rows[item.key]!.dirty = true
            case .change(let status, let byReply):
                let previous = current?.snapshot.status
                rows[item.key] = Row(
                    snapshot: StateSnapshot(status: status, optedOutByReply: byReply, order: item.order),
                    statusChangedAt: command.occurredAt, statusSource: batch.source.rawValue,
                    statusOrigin: batch.origin,
                    statusCommandId: command.id, existed: current?.existed ?? false, dirty: true)
                let change = SubscriptionChange(
                    spaceId: batch.spaceId, channel: command.channel, contact: command.contact, group: item.group,
                    previousStatus: previous, status: status, source: batch.source, origin: batch.origin,
                    commandId: command.id, occurredAt: command.occurredAt, recordedAt: now)
                // Changes of one state within one transaction coalesce into one (from the state
                // before it to the state after it), so nobody sees a state no reader could observe.
                if let index = pendingChange[item.key] {
                    let first = changes[index].previousStatus
                    changes[index] = change
                    changes[index].previousStatus = first
                } else {
                    pendingChange[item.key] = changes.count
                    changes.append(change)
                    rowBefore[item.key] = current
                }
                outcome.kind = .applied
                outcome.status = status
            }
            outcomes[item.batchIndex][commandIndex] = outcome
        }

        // Changes that cancelled out are no change: the state keeps its last real change's metadata.
        for (key, index) in pendingChange where changes[index].previousStatus == changes[index].status {
            guard let before = rowBefore[key] ?? nil else { continue }
            rows[key]!.statusChangedAt = before.statusChangedAt
            rows[key]!.statusSource = before.statusSource
            rows[key]!.statusOrigin = before.statusOrigin
            rows[key]!.statusCommandId = before.statusCommandId
        }
        changes.removeAll { $0.previousStatus == $0.status }

        // 4. Write states, history and outbox together.
        try await writeStates(rows, now: now, on: connection)
        try await insertHistory(changes, on: connection)
        var outbox = try changes.map { change in
            try OutboxMessage(
                topic: Topic.subscriptionChanges, key: change.key, event: change, contract: SubscriptionChange.contract,
                headers: [Header.spaceId: change.spaceId])
        }
        let final = outcomes.map { $0.map { $0! } }
        for (index, batch) in batches.enumerated() {
            guard let correlationId = batch.correlationId else { continue }
            let batchOutcomes = final[index]
            let result = SubscriptionCommandResult(
                batchId: batch.id, spaceId: batch.spaceId, correlationId: correlationId,
                applied: batchOutcomes.count { $0.kind == .applied },
                unchanged: batchOutcomes.count { $0.kind == .unchanged || $0.kind == .superseded },
                rejected: batchOutcomes.compactMap { outcome in
                    guard outcome.kind == .rejected, let code = outcome.code else { return nil }
                    return SubscriptionRejection(
                        commandId: outcome.commandId, reference: outcome.reference, code: code,
                        message: outcome.message ?? "")
                })
            outbox.append(
                try OutboxMessage(
                    topic: Topic.subscriptionCommandResults, key: correlationId, event: result,
                    contract: SubscriptionCommandResult.contract, headers: [Header.spaceId: batch.spaceId]))
        }
        try await Outbox.enqueue(outbox, on: connection, logger: logger)
        for batchOutcomes in final {
            for outcome in batchOutcomes { counters[outcome.kind]?.increment() }
        }
        return final
    }

    /// Locks row by row in the keys' order (sorted by the database, so every applier takes them in
    /// the same order), one index probe each: with a join, a CSV batch's 4,000 keys made the
    /// planner hash the whole table (docs/benchmarks.md, "Key probes").
    private func lockStates(_ keys: [Key], on connection: PostgresConnection) async throws -> [Key: Row] {
        var rows: [Key: Row] = [:]
        guard !keys.isEmpty else { return rows }
        let sequence = try await connection.query(
            """
            SELECT s.space_id, s.channel, s.contact, s.group_id, s.status, s.opted_out_by_reply, s.status_changed_at, s.status_source,
                   s.status_origin, s.status_command_id, s.command_at_us, s.command_seq, s.command_id
            FROM (
                SELECT * FROM unnest(\(keys.map(\.spaceId))::text[], \(keys.map(\.channel.rawValue))::text[], \(keys.map(\.contact))::text[],
                                     \(keys.map(\.groupId))::text[]) AS k(sp, ch, co, g)
                ORDER BY sp, ch, co, g
            ) AS k
            CROSS JOIN LATERAL (
                SELECT * FROM states
                WHERE space_id = k.sp AND channel = k.ch AND contact = k.co AND group_id = k.g
                FOR UPDATE
            ) AS s
            """, logger: logger)
        for try await row in sequence {
            let (
                spaceId, channel, contact, groupId, status, byReply, changedAt, source, origin, statusCommandId, micros,
                seq, commandId
            ) =
                try row.decode(
                    (String, String, String, String, String, Bool, Date, String, String?, String, Int64, Int64, String)
                        .self)
            guard let channelValue = SubscriptionChannel(rawValue: channel),
                let statusValue = SubscriptionStatus(rawValue: status)
            else { continue }
            rows[Key(spaceId: spaceId, channel: channelValue, contact: contact, groupId: groupId)] = Row(
                snapshot: StateSnapshot(
                    status: statusValue, optedOutByReply: byReply,
                    order: CommandOrder(micros: micros, sequence: seq, commandId: commandId)),
                statusChangedAt: changedAt, statusSource: source, statusOrigin: origin,
                statusCommandId: statusCommandId, existed: true)
        }
        return rows
    }

    private func writeStates(_ rows: [Key: Row], now: Date, on connection: PostgresConnection) async throws {
        let dirty = rows.filter(\.value.dirty)
        let existing = dirty.filter(\.value.existed)
        let created = dirty.filter { !$0.value.existed }
        for (list, isNew) in [(existing, false), (created, true)] where !list.isEmpty {
            let spaces = list.map(\.key.spaceId)
            let channels = list.map(\.key.channel.rawValue)
            let contacts = list.map(\.key.contact)
            let groupIds = list.map(\.key.groupId)
            let statuses = list.map(\.value.snapshot.status.rawValue)
            let byReply = list.map(\.value.snapshot.optedOutByReply)
            let changedAt = list.map(\.value.statusChangedAt)
            let sources = list.map(\.value.statusSource)
            let origins = list.map { $0.value.statusOrigin ?? "" }
            let statusCommands = list.map(\.value.statusCommandId)
            let micros = list.map(\.value.snapshot.order.micros)
            let seqs = list.map(\.value.snapshot.order.sequence)
            let commandIds = list.map(\.value.snapshot.order.commandId)
            if isNew {
                var inserted = 0
                for try await _ in try await connection.query(
                    """
                    INSERT INTO states (space_id, channel, contact, group_id, status, opted_out_by_reply, status_changed_at, status_source,
                                        status_origin, status_command_id, command_at_us, command_seq, command_id, updated_at)
                    SELECT sp, ch, co, g, st, r, ca, so, NULLIF(o, ''), sc, mu, sq, ci, \(now) FROM unnest(
                        \(spaces)::text[], \(channels)::text[], \(contacts)::text[], \(groupIds)::text[], \(statuses)::text[], \(byReply)::bool[],
                        \(changedAt)::timestamptz[], \(sources)::text[], \(origins)::text[], \(statusCommands)::text[], \(micros)::int8[],
                        \(seqs)::int8[], \(commandIds)::text[]) AS n(sp, ch, co, g, st, r, ca, so, o, sc, mu, sq, ci)
                    ON CONFLICT DO NOTHING
                    RETURNING 1
                    """, logger: logger)
                { inserted += 1 }
                if inserted != list.count { throw ConcurrentStateCreation() }
            } else {
                try await connection.query(
                    """
                    UPDATE states s SET status = n.st, opted_out_by_reply = n.r, status_changed_at = n.ca, status_source = n.so,
                        status_origin = NULLIF(n.o, ''), status_command_id = n.sc, command_at_us = n.mu, command_seq = n.sq,
                        command_id = n.ci, updated_at = \(now)
                    FROM unnest(
                        \(spaces)::text[], \(channels)::text[], \(contacts)::text[], \(groupIds)::text[], \(statuses)::text[], \(byReply)::bool[],
                        \(changedAt)::timestamptz[], \(sources)::text[], \(origins)::text[], \(statusCommands)::text[], \(micros)::int8[],
                        \(seqs)::int8[], \(commandIds)::text[]) AS n(sp, ch, co, g, st, r, ca, so, o, sc, mu, sq, ci)
                    WHERE s.space_id = n.sp AND s.channel = n.ch AND s.contact = n.co AND s.group_id = n.g
                    """, logger: logger)
            }
        }
    }

    private func insertHistory(_ changes: [SubscriptionChange], on connection: PostgresConnection) async throws {
        guard !changes.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO changes (space_id, channel, contact, group_id, group_name, previous_status, status, source, origin, command_id,
                                 occurred_at, recorded_at)
            SELECT sp, ch, co, g, NULLIF(gn, ''), NULLIF(ps, ''), st, so, NULLIF(o, ''), ci, oa, ra FROM unnest(
                \(changes.map(\.spaceId))::text[], \(changes.map(\.channel.rawValue))::text[], \(changes.map(\.contact))::text[],
                \(changes.map { $0.group?.id ?? "" })::text[], \(changes.map { $0.group?.name ?? "" })::text[],
                \(changes.map { $0.previousStatus?.rawValue ?? "" })::text[], \(changes.map(\.status.rawValue))::text[],
                \(changes.map(\.source.rawValue))::text[], \(changes.map { $0.origin ?? "" })::text[], \(changes.map(\.commandId))::text[],
                \(changes.map(\.occurredAt))::timestamptz[], \(changes.map(\.recordedAt))::timestamptz[]
            ) WITH ORDINALITY AS n(sp, ch, co, g, gn, ps, st, so, o, ci, oa, ra, i)
            ORDER BY i
            """, logger: logger)
    }
}

extension Date {
    /// Whole microseconds since 1970: the precision Postgres keeps, so comparisons agree with it.
    public var micros: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded(.down)) }
}
