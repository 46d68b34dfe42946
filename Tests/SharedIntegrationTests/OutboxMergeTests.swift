import Foundation
import Kafka
import Testing

@testable import Persistence

/// The relay's interleaving of outbox rows and due held rows, its size, gap and key checks (no database).
struct OutboxMergeTests {
    func row(_ id: Int64, held: Bool, at seconds: TimeInterval) -> OutboxRelay.Row {
        OutboxRelay.Row(
            id: id, held: held, at: Date(timeIntervalSince1970: seconds),
            record: OutgoingRecord(topic: "t", key: "k", value: Array("\(id)".utf8)))
    }

    @Test func heldRowsGoBetweenTheRowsWrittenBeforeAndAfterTheirInstant() {
        let written = [row(1, held: false, at: 10), row(2, held: false, at: 30), row(3, held: false, at: 20)]
        let held = [row(7, held: true, at: 15), row(8, held: true, at: 15), row(9, held: true, at: 25)]
        // Outbox rows keep their id order (3 began at 20 but has the higher id: it stays after 2);
        // held rows keep their instant order and go in front of the first row written after them.
        #expect(OutboxRelay.merge(written, held, limit: 10).map(\.id) == [1, 7, 8, 9, 2, 3])
    }

    @Test func theBatchLimitTakesTheEarliestOfBoth() {
        let written = [row(1, held: false, at: 10), row(2, held: false, at: 30)]
        let held = [row(7, held: true, at: 15), row(8, held: true, at: 40)]
        #expect(OutboxRelay.merge(written, held, limit: 3).map(\.id) == [1, 7, 2])
        #expect(OutboxRelay.merge([], held, limit: 1).map(\.id) == [7])
        #expect(OutboxRelay.merge(written, [], limit: 5).map(\.id) == [1, 2])
    }

    /// A broker counts headers against its limit, so a row with large headers is set aside too
    /// rather than refused on every attempt, holding back the rows after it.
    @Test func headersCountTowardsTheSizeNoBrokerAccepts() {
        let small = OutgoingRecord(topic: "t", key: "k", value: Array("{}".utf8))
        var headed = small
        headed.headers = [("x-large", String(repeating: "a", count: OutboxRelay.maxRecordBytes))]
        #expect(!OutboxRelay.isTooLarge(small))
        #expect(OutboxRelay.isTooLarge(headed))
    }

    /// A gap may be a transaction still to commit: the relay's transaction stops there, so that the
    /// next one reads those rows rather than leaving them behind its cursor.
    @Test func aGapInTheIdsIsSeenFromTheCursorOn() {
        #expect(OutboxRelay.isGapFree([], after: 7))
        #expect(OutboxRelay.isGapFree([3, 4, 5], after: 0))
        #expect(OutboxRelay.isGapFree([8, 9], after: 7))
        #expect(!OutboxRelay.isGapFree([9, 10], after: 7))
        #expect(!OutboxRelay.isGapFree([3, 5], after: 0))
        #expect(!OutboxRelay.isGapFree([8, 10], after: 7))
    }

    /// Batches in flight together share no key of a topic; keyless records keep no order.
    @Test func aBatchIsAdmittedInFlightOnlyWithoutAKeyInFlight() {
        func row(_ topic: String, _ key: String?) -> OutboxRelay.Row {
            OutboxRelay.Row(
                id: 1, held: false, at: Date(), record: OutgoingRecord(topic: topic, key: key, value: []))
        }
        var inFlight = OutboxRelay.KeysInFlight()
        let first = [row("a", "k1"), row("a", "k2"), row("a", nil)]
        #expect(inFlight.admits(first))
        inFlight.add(first)
        inFlight.add([row("a", "k2")])
        #expect(!inFlight.admits([row("a", "k3"), row("a", "k2")]))
        #expect(inFlight.admits([row("b", "k1"), row("a", nil), row("a", "k3")]))
        inFlight.remove(first)
        #expect(!inFlight.admits([row("a", "k2")]), "k2 is still in the second batch")
        #expect(inFlight.admits([row("a", "k1")]))
        inFlight.remove([row("a", "k2")])
        #expect(inFlight.admits([row("a", "k2")]))
    }
}
