import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `engage tail source-events --filter 'Email *'`: the space's Engage events as they are published.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Print events as they are published.", subcommands: [SourceEvents.self])

    struct SourceEvents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "source-events",
            abstract:
                "The space's Engage events (engage.source-events), one line each (--json: one JSON object per line).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only events whose name matches this pattern (* and ? wildcards); repeatable.")
        var filter: [String] = []
        @Flag(help: "Start from the oldest event the broker keeps, not from now.") var fromBeginning = false
        @Option(help: "Stop after this many events.") var count: Int?

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let space = try await session.space()
                var logger = Logger(
                    label: "engage.tail", factory: { label in StreamLogHandler.standardError(label: label) })
                logger.logLevel = .critical  // librdkafka repeats connection errors every second; tail reports its own
                let consumer: KafkaConsumer
                do {
                    // A group of its own that never commits: reading does not disturb anyone.
                    var config = KafkaConfig(brokers: session.connection.brokers, clientId: "engage-cli")
                    config.properties["auto.offset.reset"] = fromBeginning ? "earliest" : "latest"
                    consumer = try KafkaConsumer(
                        config: config, groupId: "engage-tail-\(UUID().uuidString.lowercased())",
                        topics: [Topic.sourceEvents], logger: logger)
                } catch {
                    throw CLIError(ExitStatus.unavailable, "cannot read from \(session.connection.brokers): \(error)")
                }
                // A broker that cannot be reached at the start is a mistake to report, not to wait out.
                var reachable = false
                for _ in 0..<5 where !reachable { reachable = await consumer.isBrokerReachable(timeoutMs: 2_000) }
                guard reachable else {
                    throw CLIError(ExitStatus.unavailable, "no Kafka broker answers at \(session.connection.brokers)")
                }
                Terminal.err("tailing \(Topic.sourceEvents) for space \(space.spaceId) (Ctrl-C to stop)")
                var printed = 0
                while count.map({ printed < $0 }) ?? true {
                    let records: [ConsumedRecord]
                    do {
                        records = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(500))
                    } catch {
                        throw CLIError(ExitStatus.unavailable, "reading \(Topic.sourceEvents): \(error)")
                    }
                    for record in records where record.headers[Header.spaceId] == space.spaceId {
                        guard let bytes = record.value, let event = try? JSONParser.parse(bytes) else { continue }
                        let name = event["event"]?.stringValue ?? event["type"]?.stringValue ?? ""
                        guard filter.isEmpty || filter.contains(where: { Self.matches(name, pattern: $0) }) else {
                            continue
                        }
                        if global.json {
                            Terminal.out(event.compactText)
                        } else {
                            let who = event["userId"]?.stringValue ?? event["anonymousId"]?.stringValue ?? "-"
                            let properties = event["properties"].map { $0.compactText.clipped } ?? ""
                            Terminal.out("\(event["timestamp"].cell)  \(name)  \(who)  \(properties)")
                        }
                        printed += 1
                        if let count, printed >= count { break }
                    }
                }
                await consumer.close()
                return 0
            }
        }

        /// Shell-style wildcards, as `fnmatch(3)`: `Email *`, `SMS ?elivered`.
        static func matches(_ name: String, pattern: String) -> Bool {
            fnmatch(pattern, name, 0) == 0
        }
    }
}
