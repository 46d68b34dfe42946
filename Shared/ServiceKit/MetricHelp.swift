/// The HELP text of every metric the services publish: one table, so that /metrics explains each
/// series (the metrics API has no place for it) and a test can check that no metric is missing.
public enum MetricHelp {
    public static let text: [String: String] = [
        // HTTP
        "engage_http_requests_total": "HTTP requests answered, by method, route template and status.",
        "engage_http_request_duration_seconds":
            "Time from a request's arrival to its response being ready (a streamed body's own writing excluded), by method, route template and status.",
        "engage_http_connections_closed_total":
            "HTTP connections closed by the server before a request completed, by reason.",
        // Process
        "engage_process_cpu_seconds_total": "CPU time (user and system) the process has used.",
        "engage_process_resident_memory_bytes": "Resident memory of the process.",
        "engage_process_open_fds": "Open file descriptors of the process.",
        "engage_process_max_fds": "The process's limit on open file descriptors.",
        "engage_process_start_time_seconds": "When the process started, in seconds since 1970.",
        // Consumers, outbox
        "engage_consumer_lag":
            "Records a consumer group has yet to read, by group, topic and partition (librdkafka statistics).",
        "engage_consumer_batch_records": "Records per batch a consumer handled.",
        "engage_consumer_batch_seconds": "Time to handle one consumer batch, commit included.",
        "engage_consumer_record_wait_seconds":
            "Time from a record's timestamp (its producer's send) to the start of the batch that handles it: the broker's fetch wait and the queue in front of the consumer.",
        "engage_consumer_batch_retries_total":
            "Consumer batches tried again after a transient failure (Postgres or broker).",
        "engage_consumer_batch_splits_total": "Consumer batches split to find the record that fails them.",
        "engage_consumer_records_processed_total": "Records consumers processed and committed.",
        "engage_consumer_records_dead_lettered_total":
            "Records consumers could not process and sent to a dead-letter topic, with the reason.",
        "engage_outbox_published_total": "Outbox rows published to the broker.",
        "engage_outbox_publish_lag_seconds": "Time from an outbox row's commit to its publication.",
        "engage_outbox_batch_seconds": "Time the outbox relay took for one batch.",
        "engage_outbox_oldest_unpublished_seconds":
            "Age of the oldest outbox row not yet published (0 when the outbox is empty).",
        // Profiles
        "engage_tracking_messages_accepted_total": "Tracking-API messages accepted onto the tracking topic.",
        "engage_tracking_requests_rejected_total":
            "Tracking-API requests refused (authentication, validation, size), by reason.",
        "engage_profiles_messages_stored_total": "Messages stored on profiles after identity resolution.",
        "engage_profiles_messages_duplicate_total": "Messages skipped because their message id was already stored.",
        "engage_profiles_merges_total": "Profile merges made by identity resolution.",
        "engage_csv_rows_total": "CSV upload rows read by the importer.",
        // Subscriptions
        "engage_subscription_commands_total": "Subscription commands applied, by outcome.",
        // Audiences
        "engage_audiences_event_to_membership_seconds":
            "Time from a profile event's timestamp to the membership change it caused.",
        // Journeys
        "engage_journey_paths_advanced_total": "Journey paths moved to their next step.",
        "engage_journey_timer_lateness_seconds":
            "How late journey timers were decided after their due time (paths claimed ahead: the instant their effects are held until).",
        "engage_journey_paths_claimed_ahead_total":
            "Journey paths claimed before their due time because a burst could not be fired by its instant.",
        // Messaging
        "engage_messages_sent_total": "Messages a provider accepted.",
        "engage_messages_failed_total": "Messages that failed for good (a provider refusal or retries exhausted).",
        "engage_messages_retried_total": "Provider calls tried again after a transient failure.",
        "engage_messages_skipped_total":
            "Message requests not sent (no consent, frequency cap, quiet hours, missing contact...).",
        "engage_messages_unknown_total":
            "Provider calls whose outcome is unknown (a timeout after sending); never retried.",
        "engage_message_request_to_provider_seconds": "Time from a message request to the provider call.",
        "engage_provider_call_seconds": "Duration of calls to SendGrid and Twilio.",
        "engage_webhooks_rejected_total":
            "Provider webhook requests refused (signature, shape), by provider and reason.",
        // Events source
        "engage_events_source_events_published_total": "Engage events published on the source-events topic.",
        "engage_events_source_event_age_at_publish_seconds": "Age of an Engage event when it was published.",
        "engage_events_source_webhook_deliveries_total": "Webhook destination deliveries, by outcome.",
        "engage_events_source_webhook_call_seconds": "Duration of webhook destination calls.",
        "engage_webhook_destination_pauses_total":
            "Webhook destinations paused automatically after repeated delivery failures.",
    ]

    /// The Prometheus text with a `# HELP` line before each known metric's `# TYPE` line.
    static func annotate(_ exposition: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(exposition.count + 8_192)
        let typePrefix = Array("# TYPE ".utf8)
        var lineStart = 0
        for index in exposition.indices where exposition[index] == UInt8(ascii: "\n") || index == exposition.count - 1 {
            let line = exposition[lineStart...index]
            if line.starts(with: typePrefix) {
                let rest = line.dropFirst(typePrefix.count)
                let name = String(decoding: rest.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                if let help = text[name] {
                    output += Array("# HELP \(name) \(help)\n".utf8)
                }
            }
            output += line
            lineStart = index + 1
        }
        return output
    }
}
