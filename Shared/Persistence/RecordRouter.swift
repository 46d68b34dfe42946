import Contracts
import Kafka

/// A consumer's table of topic → decoder. Each record of a batch becomes the consumer's own input
/// value, or a `RecordFailure` with the reason, which `ConsumerService` dead-letters: the one place
/// where "switch on the topic, decode, collect what cannot be decoded" is written.
public struct RecordRouter<Input: Sendable>: Sendable {
    public typealias Decode = @Sendable (_ value: [UInt8]?) throws(InvalidMessage) -> Input

    /// One topic and how its records become inputs.
    public struct Route: Sendable {
        let topic: String
        let decode: Decode

        public init(_ topic: String, _ decode: @escaping Decode) {
            self.topic = topic
            self.decode = decode
        }

        /// A contract value as the platform writes it (`InvalidMessage.decodeRecord`), wrapped as the
        /// consumer's input.
        public static func contract<Value: Decodable>(
            _ topic: String, _ type: Value.Type, _ contract: String,
            _ wrap: @escaping @Sendable (Value) -> Input
        ) -> Route {
            Route(topic) { value throws(InvalidMessage) in
                wrap(try InvalidMessage.decodeRecord(type, contract: contract, from: value))
            }
        }
    }

    private let routes: [String: Decode]
    /// The topics to subscribe to, in the table's order.
    public let topics: [String]

    public init(_ table: [Route]) {
        var routes: [String: Decode] = [:]
        for route in table {
            precondition(routes[route.topic] == nil, "\(route.topic) is routed twice")
            routes[route.topic] = route.decode
        }
        self.routes = routes
        self.topics = table.map(\.topic)
    }

    /// The batch's inputs in batch order (so a partition's order holds), and its undecodable records.
    public func decode(_ batch: [ConsumedRecord]) -> (inputs: [Input], failures: [RecordFailure]) {
        let (decoded, failures) = decodeWithRecords(batch)
        return (decoded.map(\.input), failures)
    }

    /// The same, each input with the record it came from (its headers: the trace it continues).
    public func decodeWithRecords(_ batch: [ConsumedRecord]) -> (
        inputs: [(input: Input, record: ConsumedRecord)], failures: [RecordFailure]
    ) {
        var inputs: [(input: Input, record: ConsumedRecord)] = []
        var failures: [RecordFailure] = []
        inputs.reserveCapacity(batch.count)
        for record in batch {
            guard let decode = routes[record.topic] else {
                failures.append(RecordFailure(record: record, reason: "no consumer of \(record.topic) here"))
                continue
            }
            do {
                inputs.append((try decode(record.value), record))
            } catch {
                failures.append(RecordFailure(record: record, reason: error.reason))
            }
        }
        return (inputs, failures)
    }

}
