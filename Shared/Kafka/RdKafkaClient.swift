import CRdKafka
import Foundation
import Logging
import Metrics
import Synchronization

/// Every librdkafka call of the platform lives in this file.
///
/// `@unchecked Sendable`: an `rd_kafka_t` handle is thread-safe by librdkafka's contract; the Swift
/// state here is immutable or guarded by a Mutex. Calls that block (poll, flush, commit, close,
/// metadata) run on this client's own dispatch queue or poll thread, never on the Swift cooperative
/// pool or on NIO event loops.
final class RdKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    let handle: OpaquePointer
    let kind: Kind
    let logger: Logger
    /// Serialises the blocking calls and keeps them off the cooperative pool.
    private let blockingQueue: DispatchQueue
    private let rebalanceContext: Unmanaged<RebalanceContext>?

    init(kind: Kind, properties: [String: String], logger: Logger) throws {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(code: -1, message: "invalid setting \(key): \(String(cString: errorText))")
            }
        }
        var context: Unmanaged<RebalanceContext>?
        switch kind {
        case .producer:
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let tracker = Unmanaged<DeliveryTracker>.fromOpaque(opaque).takeRetainedValue()
                let code = message.pointee.err
                if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                    tracker.delivered()
                } else {
                    tracker.failed(KafkaError(code))
                }
            }
        case .consumer:
            let box = Unmanaged.passRetained(RebalanceContext(logger: logger, groupId: properties["group.id"] ?? ""))
            context = box
            rd_kafka_conf_set_opaque(conf, box.toOpaque())
            // Consumer lag per partition, from librdkafka's statistics (served by our poll calls).
            if properties["statistics.interval.ms"] == nil {
                _ = rd_kafka_conf_set(conf, "statistics.interval.ms", "5000", &errorText, errorText.count)
            }
            rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
                guard let json, let opaque else { return 0 }
                let context = Unmanaged<RebalanceContext>.fromOpaque(opaque).takeUnretainedValue()
                context.recordLag(statistics: Data(bytes: json, count: length))
                return 0  // librdkafka frees the JSON
            }
            rd_kafka_conf_set_rebalance_cb(conf) { handle, code, partitions, opaque in
                guard let handle, let opaque else { return }
                let context = Unmanaged<RebalanceContext>.fromOpaque(opaque).takeUnretainedValue()
                let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
                let names = RdKafkaClient.describe(partitions)
                if code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                    context.logger.info("partitions assigned", metadata: ["partitions": "\(names)"])
                    context.assigned()
                    context.startOverIfRecreated(partitions)
                    if cooperative {
                        if let error = rd_kafka_incremental_assign(handle, partitions) { rd_kafka_error_destroy(error) }
                    } else {
                        rd_kafka_assign(handle, partitions)
                    }
                } else {
                    // Offsets are committed after every processed batch, and those a failed commit
                    // left owed are dropped (see `OwedOffsets`); a batch still in flight for a
                    // revoked partition is idempotent on redelivery.
                    context.logger.info("partitions revoked", metadata: ["partitions": "\(names)"])
                    context.revoked()
                    if cooperative {
                        if let error = rd_kafka_incremental_unassign(handle, partitions) {
                            rd_kafka_error_destroy(error)
                        }
                    } else {
                        rd_kafka_assign(handle, nil)
                    }
                }
            }
        }
        guard
            let handle = rd_kafka_new(
                kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &errorText, errorText.count)
        else {
            rd_kafka_conf_destroy(conf)
            context?.release()
            throw KafkaError(code: -1, message: "cannot create client: \(String(cString: errorText))")
        }
        self.handle = handle
        self.kind = kind
        self.logger = logger
        self.rebalanceContext = context
        self.blockingQueue = DispatchQueue(label: "engage.kafka.\(kind)")
        if kind == .consumer {
            rd_kafka_poll_set_consumer(handle)
        }
    }

    deinit {
        rd_kafka_destroy(handle)
        rebalanceContext?.release()
    }

    /// Runs a blocking librdkafka call on this client's own queue.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            blockingQueue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    // MARK: producing

    enum EnqueueOutcome { case enqueued, queueFull }

    /// Hands one record to librdkafka; the tracker hears of its delivery report.
    func enqueue(_ record: OutgoingRecord, tracker: DeliveryTracker) throws -> EnqueueOutcome {
        let headers: OpaquePointer? = record.headers.isEmpty ? nil : rd_kafka_headers_new(record.headers.count)
        for (name, value) in record.headers {
            let bytes = Array(value.utf8)
            _ = bytes.withUnsafeBytes { rd_kafka_header_add(headers, name, -1, $0.baseAddress, $0.count) }
        }
        let opaque = Unmanaged.passRetained(tracker).toOpaque()
        let error: OpaquePointer? = record.value.withUnsafeBytes { value in
            if let key = record.key {
                return key.withUnsafeBytes { key in
                    engage_produce(
                        handle, record.topic, key.baseAddress ?? UnsafeRawPointer(bitPattern: 1), key.count,
                        value.baseAddress, value.count, headers, opaque)
                }
            }
            return engage_produce(handle, record.topic, nil, 0, value.baseAddress, value.count, headers, opaque)
        }
        guard let error else { return .enqueued }
        Unmanaged<DeliveryTracker>.fromOpaque(opaque).release()
        if let headers { rd_kafka_headers_destroy(headers) }
        let code = rd_kafka_error_code(error)
        let message = String(cString: rd_kafka_error_string(error))
        rd_kafka_error_destroy(error)
        if code == RD_KAFKA_RESP_ERR__QUEUE_FULL { return .queueFull }
        throw KafkaError(code: code.rawValue, message: message)
    }

    /// Serves delivery reports; called by the producer's poll thread only.
    func pollEvents(timeoutMs: Int32) {
        rd_kafka_poll(handle, timeoutMs)
    }

    /// Ends a `pollEvents` wait under way (or the next one) at once; safe from any thread.
    func interruptPoll() {
        // rd_kafka_yield only works from within a callback; a queue's yield wakes its poller.
        guard let queue = rd_kafka_queue_get_main(handle) else { return }
        rd_kafka_queue_yield(queue)
        rd_kafka_queue_destroy(queue)
    }

    /// The producer's fatal error, once librdkafka raised one: it then refuses every record.
    var hasFatalError: Bool {
        var text = [CChar](repeating: 0, count: 256)
        return rd_kafka_fatal_error(handle, &text, text.count) != RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Records enqueued and not yet reported on.
    var outstandingRecords: Int { Int(rd_kafka_outq_len(handle)) }

    /// Fails every record not yet delivered (their reports say purged).
    func purge() {
        _ = rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
    }

    func flush(timeoutMs: Int32) -> Bool {
        rd_kafka_flush(handle, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Issues one admin request (`send` gets its options and reply queue) and waits for its result
    /// event, which the caller destroys. Throws the request's own error, or a timeout.
    private func adminRequest(
        _ operation: rd_kafka_admin_op_t, timeoutMs: Int32, what: String,
        send: (OpaquePointer?, OpaquePointer?) -> Void
    ) throws -> OpaquePointer {
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, operation)
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errorText, errorText.count)
        if operation == RD_KAFKA_ADMIN_OP_CREATETOPICS || operation == RD_KAFKA_ADMIN_OP_DELETETOPICS {
            // Wait for the controller to have done it, not only to have accepted it.
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errorText, errorText.count)
        }
        send(options, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 5_000) else {
            throw KafkaError(code: -1, message: "timed out \(what)")
        }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            defer { rd_kafka_event_destroy(event) }
            throw KafkaError(
                code: rd_kafka_event_error(event).rawValue, message: String(cString: rd_kafka_event_error_string(event))
            )
        }
        return event
    }

    /// Creates topics with their settings (`configs[name]`), leaving existing ones alone.
    func createTopics(
        _ names: [String], partitions: Int32, replicationFactor: Int32, configs: [String: [String: String]] = [:],
        timeoutMs: Int32
    ) throws {
        var errorText = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for name in names {
            guard let topic = rd_kafka_NewTopic_new(name, partitions, replicationFactor, &errorText, errorText.count)
            else {
                throw KafkaError(code: -1, message: "topic \(name): \(String(cString: errorText))")
            }
            newTopics.append(topic)
            for (key, value) in (configs[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let code = rd_kafka_NewTopic_set_config(topic, key, value)
                if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(
                        code: code.rawValue,
                        message: "topic \(name): setting \(key)=\(value): \(String(cString: rd_kafka_err2str(code)))")
                }
            }
        }
        let event = try adminRequest(RD_KAFKA_ADMIN_OP_CREATETOPICS, timeoutMs: timeoutMs, what: "creating topics") {
            options, queue in
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
            }
        }
        defer { rd_kafka_event_destroy(event) }
        guard let result = rd_kafka_event_CreateTopics_result(event) else { return }
        var count = 0
        guard let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        var failures: [String] = []
        for index in 0..<count {
            let topic = topics[index]
            let code = rd_kafka_topic_result_error(topic)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                let name = String(cString: rd_kafka_topic_result_name(topic))
                let reason = rd_kafka_topic_result_error_string(topic).map { String(cString: $0) } ?? "\(code)"
                failures.append("\(name): \(reason)")
            }
        }
        if !failures.isEmpty {
            throw KafkaError(code: -1, message: "cannot create topics: \(failures.joined(separator: "; "))")
        }
    }

    /// Deletes topics (with their records); missing ones are not an error.
    func deleteTopics(_ names: [String], timeoutMs: Int32) throws {
        var deletions: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
        defer { for deletion in deletions { rd_kafka_DeleteTopic_destroy(deletion) } }
        let event = try adminRequest(RD_KAFKA_ADMIN_OP_DELETETOPICS, timeoutMs: timeoutMs, what: "deleting topics") {
            options, queue in
            deletions.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_DeleteTopics(handle, buffer.baseAddress, buffer.count, options, queue)
            }
        }
        defer { rd_kafka_event_destroy(event) }
        guard let result = rd_kafka_event_DeleteTopics_result(event) else { return }
        var count = 0
        guard let topics = rd_kafka_DeleteTopics_result_topics(result, &count) else { return }
        for index in 0..<count {
            let code = rd_kafka_topic_result_error(topics[index])
            if code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART {
                throw KafkaError(
                    code: code.rawValue,
                    message: "cannot delete \(String(cString: rd_kafka_topic_result_name(topics[index])))")
            }
        }
    }

    /// The settings the broker reports for each topic (name → key → value). A broker may report only
    /// the settings given at creation, or every one with its defaults.
    func topicConfigs(_ names: [String], timeoutMs: Int32) throws -> [String: [String: String]] {
        guard !names.isEmpty else { return [:] }
        var resources: [OpaquePointer?] = names.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
        defer { for resource in resources { rd_kafka_ConfigResource_destroy(resource) } }
        let event = try adminRequest(
            RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeoutMs: timeoutMs, what: "describing topic settings"
        ) { options, queue in
            resources.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_DescribeConfigs(handle, buffer.baseAddress, buffer.count, options, queue)
            }
        }
        defer { rd_kafka_event_destroy(event) }
        guard let result = rd_kafka_event_DescribeConfigs_result(event) else { return [:] }
        var count = 0
        guard let described = rd_kafka_DescribeConfigs_result_resources(result, &count) else { return [:] }
        var settings: [String: [String: String]] = [:]
        for index in 0..<count {
            guard let resource = described[index], rd_kafka_ConfigResource_error(resource) == RD_KAFKA_RESP_ERR_NO_ERROR
            else { continue }
            var entryCount = 0
            var values: [String: String] = [:]
            if let entries = rd_kafka_ConfigResource_configs(resource, &entryCount) {
                for entryIndex in 0..<entryCount {
                    guard let entry = entries[entryIndex], let value = rd_kafka_ConfigEntry_value(entry) else {
                        continue
                    }
                    values[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
                }
            }
            settings[String(cString: rd_kafka_ConfigResource_name(resource))] = values
        }
        return settings
    }

    /// The names of every topic the cluster has.
    func topicNames(timeoutMs: Int32) throws -> Set<String> {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var names = Set<String>()
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR { names.insert(String(cString: topic.topic)) }
        }
        return names
    }

    /// True when a broker answers a metadata request in time.
    func brokerReachable(timeoutMs: Int32) -> Bool {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMs)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        return code == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    // MARK: consuming

    func subscribe(_ topics: [String]) throws {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, -1) }
        let code = rd_kafka_subscribe(handle, list)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code)
        }
    }

    /// Reads `topics` again from their beginning, whatever offset the group committed (they were
    /// created again; see `RecreatedTopics`): the partitions assigned now are sought there at once;
    /// topics not assigned here now start over if the next rebalance hands them to this member.
    /// Returns the topics whose seek failed, for the caller to try again.
    func startOver(_ topics: Set<String>) -> Set<String> {
        guard let context = rebalanceContext?.takeUnretainedValue() else { return [] }
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else {
            return topics
        }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        let seeks = rd_kafka_topic_partition_list_new(assignment.pointee.cnt)!
        defer { rd_kafka_topic_partition_list_destroy(seeks) }
        var assigned: Set<String> = []
        for index in 0..<Int(assignment.pointee.cnt) {
            let element = assignment.pointee.elems[index]
            let topic = String(cString: element.topic)
            guard topics.contains(topic) else { continue }
            rd_kafka_topic_partition_list_add(seeks, element.topic, element.partition).pointee.offset = Int64(
                RD_KAFKA_OFFSET_BEGINNING)
            assigned.insert(topic)
        }
        context.startOverAtNextAssignment(topics.subtracting(assigned))
        guard seeks.pointee.cnt > 0 else { return [] }
        if let error = rd_kafka_seek_partitions(handle, seeks, 5_000) {
            logger.warning(
                "could not seek to the beginning of recreated topics; trying again",
                metadata: ["error": "\(String(cString: rd_kafka_error_string(error)))"])
            rd_kafka_error_destroy(error)
            return assigned
        }
        var failed: Set<String> = []
        for index in 0..<Int(seeks.pointee.cnt) where seeks.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let element = seeks.pointee.elems[index]
            logger.warning(
                "could not seek a recreated partition to its beginning; trying again",
                metadata: [
                    "partition": "\(String(cString: element.topic))[\(element.partition)]",
                    "error": "\(String(cString: rd_kafka_err2str(element.err)))",
                ])
            failed.insert(String(cString: element.topic))
        }
        return failed
    }

    /// Up to `maxRecords` records: waits up to `timeoutMs` for the first, then takes what is already there.
    func consumeBatch(maxRecords: Int, timeoutMs: Int32) -> [ConsumedRecord] {
        var records: [ConsumedRecord] = []
        var wait = timeoutMs
        while records.count < maxRecords, let message = rd_kafka_consumer_poll(handle, wait) {
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            let code = message.pointee.err
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                if code != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    logger.warning("consumer error", metadata: ["error": "\(String(cString: rd_kafka_err2str(code)))"])
                }
                continue
            }
            records.append(Self.copy(message))
        }
        return records
    }

    private static func copy(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedRecord {
        let raw = message.pointee
        let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
        var headers: [String: String] = [:]
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var valuePointer: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR
            {
                if let name {
                    let bytes = valuePointer.map { UnsafeRawBufferPointer(start: $0, count: size) }
                    headers[String(cString: name)] = bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
                }
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return ConsumedRecord(
            topic: String(cString: rd_kafka_topic_name(raw.rkt)), partition: raw.partition, offset: raw.offset,
            key: key, value: value, headers: headers,
            timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
    }

    /// Commits `offsets`, waiting at most `timeoutMs` for the coordinator's answer (a synchronous
    /// `rd_kafka_commit` waits as long as librdkafka retries: up to a minute for a hung broker).
    /// Throws when the commit failed or went unanswered; `CommitFailure.failed` then says which
    /// partitions did not commit, since the others may have.
    func commit(_ offsets: CommitOffsets, timeoutMs: Int32) throws(CommitFailure) {
        guard !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.next.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in offsets.next {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
        }
        // The answer comes on a queue of this call's own; one that comes after the timeout is
        // dropped with the queue.
        let queue = rd_kafka_queue_new(handle)!
        defer { rd_kafka_queue_destroy(queue) }
        let code = rd_kafka_commit_queue(handle, list, queue, nil, nil)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw CommitFailure(
                error: KafkaError(code),
                failed: offsets)
        }
        guard let event = rd_kafka_queue_poll(queue, timeoutMs) else {
            throw CommitFailure(
                error: KafkaError(
                    code: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
                    message: "offset commit unanswered after \(timeoutMs) ms"),
                failed: offsets)
        }
        defer { rd_kafka_event_destroy(event) }
        let error = rd_kafka_event_error(event)
        guard error != RD_KAFKA_RESP_ERR_NO_ERROR && error != RD_KAFKA_RESP_ERR__NO_OFFSET else { return }
        var failed: Set<TopicPartition> = []
        if let answered = rd_kafka_event_topic_partition_list(event) {
            for index in 0..<Int(answered.pointee.cnt)
            where answered.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let element = answered.pointee.elems[index]
                failed.insert(TopicPartition(topic: String(cString: element.topic), partition: element.partition))
            }
        }
        throw CommitFailure(
            error: KafkaError(error),
            failed: failed.isEmpty ? offsets : offsets.only(failed))
    }

    /// When the group last assigned partitions to this member (nil: not yet, or a producer).
    var lastAssignment: ContinuousClock.Instant? { rebalanceContext?.takeUnretainedValue().lastAssignment }

    /// Subscribes to `topics` again, which makes a member of an eager group give up its partitions
    /// and join again, for a new assignment; `startingOver` topics are read from their beginning at
    /// that assignment. False, doing nothing, under the cooperative protocol, where subscribing to
    /// the same topics changes nothing.
    func rejoin(_ topics: [String], startingOver: Set<String>) throws -> Bool {
        guard String(cString: rd_kafka_rebalance_protocol(handle)) != "COOPERATIVE" else { return false }
        rebalanceContext?.takeUnretainedValue().startOverAtNextAssignment(startingOver)
        try subscribe(topics)
        return true
    }

    /// How many times this member has lost partitions to a rebalance so far (0 for a producer).
    var revocations: Int { rebalanceContext?.takeUnretainedValue().revocations ?? 0 }

    /// Leaves the group cleanly (revokes partitions, commits nothing more).
    func closeConsumer() {
        _ = rd_kafka_consumer_close(handle)
    }

    private static func describe(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> String {
        guard let list else { return "" }
        var parts: [String] = []
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            parts.append("\(String(cString: element.topic))[\(element.partition)]")
        }
        return parts.joined(separator: ",")
    }
}

/// What librdkafka's consumer callbacks (rebalance, statistics) need: a logger and the group id.
final class RebalanceContext: Sendable {
    let logger: Logger
    let groupId: String

    /// Topics still to be read from their beginning at their next assignment.
    private let startingOver = Mutex<Set<String>>([])
    private let revocationCount = Atomic<Int>(0)

    /// How many times partitions were revoked from this member (see `OwedOffsets`).
    var revocations: Int { revocationCount.load(ordering: .acquiring) }

    func revoked() { revocationCount.add(1, ordering: .releasing) }

    private let lastAssigned = Mutex<ContinuousClock.Instant?>(nil)

    /// When the last assignment came (see `AssignmentWithoutTopics`).
    var lastAssignment: ContinuousClock.Instant? { lastAssigned.withLock { $0 } }

    func assigned() { lastAssigned.withLock { $0 = .now } }

    init(logger: Logger, groupId: String) {
        self.logger = logger
        self.groupId = groupId
    }

    /// Recreated topics that this member holds no partition of now: the next assignment reads them
    /// from the beginning if it hands one over.
    func startOverAtNextAssignment(_ topics: Set<String>) {
        guard !topics.isEmpty else { return }
        startingOver.withLock { $0.formUnion(topics) }
    }

    /// At an assignment: points the partitions of recreated topics at their beginning (an offset
    /// committed for the old topic means nothing in the new one). Applies to this one assignment
    /// only: a partition handed over later has been read from the new topic's start by its previous
    /// owner, whose committed offset is right.
    func startOverIfRecreated(_ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        guard let partitions else { return }
        startingOver.withLock { topics in
            guard !topics.isEmpty else { return }
            for index in 0..<Int(partitions.pointee.cnt)
            where topics.contains(String(cString: partitions.pointee.elems[index].topic)) {
                partitions.pointee.elems[index].offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
            topics.removeAll()
        }
    }

    /// Publishes `engage_consumer_lag{group,topic,partition}` from a statistics JSON document.
    func recordLag(statistics: Data) {
        guard let root = try? JSONSerialization.jsonObject(with: statistics) as? [String: Any],
            let topics = root["topics"] as? [String: Any]
        else { return }
        for (topic, value) in topics {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (partition, stats) in partitions where partition != "-1" {
                // -1: not assigned here (any more). Recorded as 0, or the last lag of a partition that
                // a rebalance moved to another instance would stay on this one's gauge for good.
                guard let lag = (stats as? [String: Any])?["consumer_lag"] as? Int else { continue }
                Gauge(
                    label: "engage_consumer_lag",
                    dimensions: [("group", groupId), ("topic", topic), ("partition", partition)]
                )
                .record(max(lag, 0))
            }
        }
    }
}

/// Counts outstanding delivery reports for one `send` call and resumes it when all have arrived.
final class DeliveryTracker: Sendable {
    private struct State {
        var remaining: Int
        var firstError: KafkaError?
        var continuation: CheckedContinuation<Void, Error>?
        var finished = false
    }
    private let state: Mutex<State>

    init(expected: Int) {
        state = Mutex(State(remaining: expected))
    }

    func attach(_ continuation: CheckedContinuation<Void, Error>) {
        let ready: (CheckedContinuation<Void, Error>, KafkaError?)? = state.withLock { state in
            if state.remaining == 0 && !state.finished {
                state.finished = true
                return (continuation, state.firstError)
            }
            state.continuation = continuation
            return nil
        }
        if let (continuation, error) = ready { Self.resume(continuation, error) }
    }

    func delivered() { complete(nil) }
    func failed(_ error: KafkaError) { complete(error) }

    /// A record that was never enqueued will not get a report.
    func cancel(count: Int, error: KafkaError) {
        for _ in 0..<count { complete(error) }
    }

    private func complete(_ error: KafkaError?) {
        let ready: (CheckedContinuation<Void, Error>, KafkaError?)? = state.withLock { state in
            state.remaining -= 1
            if state.firstError == nil, let error { state.firstError = error }
            if state.remaining == 0, let continuation = state.continuation, !state.finished {
                state.finished = true
                return (continuation, state.firstError)
            }
            return nil
        }
        if let (continuation, error) = ready { Self.resume(continuation, error) }
    }

    private static func resume(_ continuation: CheckedContinuation<Void, Error>, _ error: KafkaError?) {
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}

extension KafkaError {
    /// librdkafka's error `code`, with its text.
    init(_ code: rd_kafka_resp_err_t) {
        self.init(code: code.rawValue, message: String(cString: rd_kafka_err2str(code)))
    }
}
