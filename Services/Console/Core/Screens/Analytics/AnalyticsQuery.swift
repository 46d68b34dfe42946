import Foundation

/// The analytics form (a GET form, so a view can be bookmarked and shared): range, bucket,
/// grouping, channel, the metric a grouped chart draws, what rates are against, the time zone, and
/// filters carried over from links (a broadcast's page links to its own figures).
struct AnalyticsQuery {
    static let ranges = [
        ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days"),
        ("custom", "Dates below"),
    ]
    static let groupings = [
        ("", "Nothing (all messages)"), ("channel", "Channel"), ("template", "Template"), ("journey", "Journey"),
        ("step", "Journey step"), ("broadcast", "Broadcast"),
    ]
    static let channels = [("", "All channels"), ("email", "Email"), ("sms", "SMS"), ("whatsapp", "WhatsApp")]
    /// Filters that come from links rather than the form's own choices.
    static let carried = ["templateId", "journeyId", "stepId", "broadcastId"]

    var range = "7d"
    var from = ""
    var to = ""
    var bucket = "day"
    var groupBy = ""
    var channel = ""
    var metric = "sent"
    var denominator = "sent"
    var timeZone = "UTC"
    var filters: [(String, String)] = []
    var problems: [String] = []

    init(_ parameters: [String: String], now: Date = Date()) {
        range = Self.ranges.contains { $0.0 == parameters["range"] } ? parameters["range"]! : "7d"
        bucket = parameters["bucket"] == "hour" || (parameters["bucket"] == nil && range == "24h") ? "hour" : "day"
        groupBy = Self.groupings.contains { $0.0 == parameters["groupBy"] } ? parameters["groupBy"]! : ""
        channel = Self.channels.contains { $0.0 == parameters["channel"] } ? parameters["channel"]! : ""
        metric = AnalyticsReport.metrics.contains { $0.name == parameters["metric"] } ? parameters["metric"]! : "sent"
        denominator = parameters["denominator"] == "delivered" ? "delivered" : "sent"
        let zone = (parameters["timezone"] ?? "").trimmingCharacters(in: .whitespaces)
        if zone.isEmpty || TimeZone(identifier: zone) != nil {
            timeZone = zone.isEmpty ? "UTC" : zone
        } else {
            problems.append("Time zone: \(zone) is not a time zone name (for example Europe/Paris or UTC).")
        }
        from = parameters["from"] ?? ""
        to = parameters["to"] ?? ""
        filters = Self.carried.compactMap { name in parameters[name].flatMap { $0.isEmpty ? nil : (name, $0) } }
        self.now = now
    }

    var now: Date

    var zone: TimeZone { TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")! }

    /// The range as times: presets end now; day buckets start at midnight in the time zone so that
    /// "last 7 days" is seven whole days, today included. Custom dates include the `to` day.
    var interval: (from: Date, to: Date)? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        if range == "custom" {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = zone
            formatter.dateFormat = "yyyy-MM-dd"
            guard let start = formatter.date(from: from), let end = formatter.date(from: to),
                let after = calendar.date(byAdding: .day, value: 1, to: end), start < after
            else { return nil }
            return (start, after)
        }
        let days = ["24h": 1, "7d": 7, "30d": 30, "90d": 90][range] ?? 7
        if bucket == "day" {
            let today = calendar.startOfDay(for: now)
            return (calendar.date(byAdding: .day, value: 1 - days, to: today)!, now)
        }
        let hour = calendar.dateInterval(of: .hour, for: now)?.start ?? now
        return (hour.addingTimeInterval(-Double(days) * 86_400 + 3_600), now)
    }

    /// events-source's query parameters.
    var upstream: [(String, String)]? {
        guard let interval else { return nil }
        var query: [(String, String)] = [
            ("from", DisplayText.iso(interval.from)), ("to", DisplayText.iso(interval.to)), ("bucket", bucket),
            ("timezone", timeZone), ("denominator", denominator),
        ]
        if !channel.isEmpty { query.append(("channel", channel)) }
        if !groupBy.isEmpty { query += [("groupBy", groupBy), ("groupSeries", "true")] }
        return query + filters
    }

    /// The form's values: each choice with the current one selected.
    var values: [String: Any] {
        func options(_ list: [(String, String)], _ current: String) -> [[String: Any]] {
            list.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == current] }
        }
        return [
            "ranges": options(Self.ranges, range), "groupings": options(Self.groupings, groupBy),
            "channels": options(Self.channels, channel),
            "buckets": options([("day", "Day"), ("hour", "Hour")], bucket),
            "metricOptions": options(AnalyticsReport.metrics.map { ($0.name, $0.label) }, metric),
            "denominators": options([("sent", "Sent"), ("delivered", "Delivered")], denominator),
            "from": from, "to": to, "timezone": timeZone, "isGrouped": !groupBy.isEmpty,
            "carried": filters.map { ["name": $0.0, "value": $0.1] },
            "hasCarried": !filters.isEmpty,
        ]
    }
}
