/// Tells a consumer when one of its topics came back after it had disappeared: the broker came
/// back empty (a memory-only broker restarted, a new cluster) or the topic was deleted and created
/// again. The new topic starts again at offset 0, while the consumer's fetch positions, and any
/// offset committed in the meantime, still point into the old one: left alone, the consumer would
/// skip every record below its old position. A topic never seen yet (not created so far) is not
/// "recreated" when it appears, and a topic counts as gone only when `missesToVanish` answers in a
/// row lack it (one answer from a broker with a stale cache says little).
struct RecreatedTopics: Sendable {
    static let missesToVanish = 2
    private var present: Set<String> = []
    private var misses: [String: Int] = [:]
    private var vanished: Set<String> = []

    /// Whether `topic` has been seen gone (and not yet back).
    func isGone(_ topic: String) -> Bool { vanished.contains(topic) }

    /// Records what the broker has now (`existing`) and returns the subscribed topics that are
    /// back after having been seen gone.
    mutating func observe(existing: Set<String>, subscribed: [String]) -> Set<String> {
        var returned: Set<String> = []
        for topic in subscribed {
            if existing.contains(topic) {
                if vanished.remove(topic) != nil { returned.insert(topic) }
                misses[topic] = nil
                present.insert(topic)
            } else if present.contains(topic) {
                misses[topic, default: 0] += 1
                if misses[topic]! >= Self.missesToVanish {
                    present.remove(topic)
                    misses[topic] = nil
                    vanished.insert(topic)
                }
            }
        }
        return returned
    }
}

/// Tells a consumer when the group's last assignment may have been made without some of its
/// topics. The group's leader assigns the partitions of the topics its metadata knows at that
/// moment: an assignment made while a topic was missing (a broker back empty, before the topics are
/// created again) leaves that topic's partitions to nobody. librdkafka should join again once the
/// topic is back, but after a broker that restarted empty at once it was seen not to, and the
/// member stayed without partitions for good. So when a check saw a subscribed topic missing at,
/// after, or shortly before the last assignment, and all are back, the member joins again.
struct AssignmentWithoutTopics: Sendable {
    private var lastMissing: ContinuousClock.Instant?

    /// Records one check (`allPresent`: every subscribed topic exists) and says whether to join the
    /// group again. `margin`: how long before an assignment the leader may have read its metadata.
    mutating func observe(
        allPresent: Bool, at now: ContinuousClock.Instant, lastAssignment: ContinuousClock.Instant?,
        margin: Duration
    ) -> Bool {
        guard allPresent else {
            lastMissing = now
            return false
        }
        guard let missing = lastMissing, let assigned = lastAssignment else { return false }
        lastMissing = nil
        return missing >= assigned - margin
    }
}
