import Foundation

/// events-source's message analytics as the page shows them: a totals table (messages, events and
/// rate per metric), a table per group, the same figures per bucket, and the chart's data, which
/// the page script draws with Chart.js. Counts are unique messages unless a column says events.
struct AnalyticsReport {
    struct Metric {
        var name: String
        var label: String
        /// Drawn at first in an ungrouped chart; the rest are one legend click away.
        var shown: Bool
        var color: String
    }

    static let metrics = [
        Metric(name: "sent", label: "Sent", shown: true, color: "#2458d3"),
        Metric(name: "delivered", label: "Delivered", shown: true, color: "#17753a"),
        Metric(name: "opened", label: "Opened", shown: true, color: "#8a5a00"),
        Metric(name: "clicked", label: "Clicked", shown: true, color: "#7b2cbf"),
        Metric(name: "converted", label: "Converted", shown: true, color: "#0b7a8a"),
        Metric(name: "read", label: "Read", shown: false, color: "#5b6472"),
        Metric(name: "machine_opened", label: "Machine opened", shown: false, color: "#a0a7b4"),
        Metric(name: "bounced", label: "Bounced", shown: false, color: "#b3261e"),
        Metric(name: "dropped", label: "Dropped", shown: false, color: "#d0021b"),
        Metric(name: "deferred", label: "Deferred", shown: false, color: "#c77700"),
        Metric(name: "undelivered", label: "Undelivered", shown: false, color: "#e4572e"),
        Metric(name: "failed", label: "Failed", shown: false, color: "#9d0208"),
        Metric(name: "skipped", label: "Skipped", shown: false, color: "#6c757d"),
        Metric(name: "unsubscribed", label: "Unsubscribed", shown: false, color: "#495057"),
        Metric(name: "marked_as_spam", label: "Marked as spam", shown: false, color: "#343a40"),
    ]
    static let groupPalette = [
        "#2458d3", "#17753a", "#8a5a00", "#7b2cbf", "#0b7a8a", "#b3261e", "#c77700", "#495057", "#d63384", "#20c997",
    ]
    /// The columns of the groups table.
    static let groupColumns = ["sent", "delivered", "opened", "clicked", "converted", "skipped", "failed"]

    var data: [String: Any]
    var query: AnalyticsQuery
    /// Names of groups by their key value (template, journey, broadcast ids).
    var names: [String: String]

    static func count(_ figures: Any?, _ metric: String, _ kind: String = "unique") -> Int {
        BroadcastProgress.int(((figures as? [String: Any])?[metric] as? [String: Any])?[kind])
    }

    static func percent(_ rates: Any?, _ metric: String) -> String {
        guard let rate = (rates as? [String: Any])?[metric] else { return "–" }
        let value: Double
        switch rate {
        case let number as Double: value = number
        case let number as Int: value = Double(number)
        case let number as NSNumber: value = number.doubleValue
        default: return "–"
        }
        return String(format: "%.1f %%", value * 100)
    }

    var denominatorLabel: String { Self.metrics.first { $0.name == query.denominator }?.label ?? query.denominator }

    var totalsRows: [[String: Any]] {
        let totals = data["totals"]
        let rates = data["rates"]
        return Self.metrics.map { metric in
            [
                "name": metric.name, "label": metric.label, "unique": Self.count(totals, metric.name),
                "total": Self.count(totals, metric.name, "total"),
                "rate": metric.name == query.denominator ? "–" : Self.percent(rates, metric.name),
            ]
        }
    }

    var series: [[String: Any]] { data["series"] as? [[String: Any]] ?? [] }
    var groups: [[String: Any]] { data["groups"] as? [[String: Any]] ?? [] }

    /// A bucket's start as the time zone reads it.
    func bucketLabel(_ iso: Any?) -> String {
        guard let date = DisplayText.parse(iso as? String) else { return "" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = query.zone
        formatter.dateFormat = query.bucket == "hour" ? "yyyy-MM-dd HH:00" : "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    /// What a group is called: its channel, or the name of its template, journey or broadcast.
    func groupName(_ group: [String: Any]) -> String {
        let key = group["key"] as? [String: Any] ?? [:]
        switch query.groupBy {
        case "channel":
            let channel = key["channel"] as? String ?? ""
            return TemplateChannel(loose: channel)?.label ?? (channel.isEmpty ? "No channel" : channel)
        case "template":
            let id = key["templateId"] as? String ?? ""
            return id.isEmpty ? "No template (destination content)" : names[id] ?? id
        case "journey":
            let id = key["journeyId"] as? String ?? ""
            return id.isEmpty ? "Not in a journey" : names[id] ?? id
        case "step":
            let journey = key["journeyId"] as? String ?? ""
            let step = key["stepId"] as? String ?? ""
            return journey.isEmpty ? "Not in a journey" : "\(names[journey] ?? journey) · step \(step)"
        case "broadcast":
            let id = key["broadcastId"] as? String ?? ""
            return id.isEmpty ? "Not a broadcast" : names[id] ?? id
        default:
            return "All"
        }
    }

    var groupRows: [[String: Any]] {
        groups.map { group in
            [
                "name": groupName(group),
                "cells": Self.groupColumns.map { metric -> [String: Any] in
                    var cell: [String: Any] = ["metric": metric, "unique": Self.count(group["metrics"], metric)]
                    // The denominator's own rate would always read 100 %.
                    if metric != query.denominator { cell["rate"] = Self.percent(group["rates"], metric) }
                    return cell
                },
            ]
        }
    }

    var groupHeaders: [[String: Any]] {
        Self.groupColumns.map { name in
            ["label": Self.metrics.first { $0.name == name }?.label ?? name]
        }
    }

    /// The per-bucket table: one row per bucket; the metrics drawn as columns.
    var bucketRows: [[String: Any]] {
        let drawn = chartSeries
        return series.enumerated().map { index, point in
            [
                "label": bucketLabel(point["start"]),
                "cells": drawn.map { ["value": $0.values[index]] as [String: Any] },
            ]
        }
    }

    /// One line per metric (ungrouped) or per group for the chosen metric (grouped).
    var chartSeries: [(label: String, values: [Int], color: String, hidden: Bool)] {
        if query.groupBy.isEmpty {
            return Self.metrics.map { metric in
                (metric.label, series.map { Self.count($0["metrics"], metric.name) }, metric.color, !metric.shown)
            }
        }
        let ranked = groups.sorted {
            Self.count($0["metrics"], query.metric) > Self.count($1["metrics"], query.metric)
        }
        return ranked.enumerated().map { index, group in
            let points = group["series"] as? [[String: Any]] ?? []
            return (
                groupName(group), points.map { Self.count($0["metrics"], query.metric) },
                Self.groupPalette[index % Self.groupPalette.count], index >= 8
            )
        }
    }

    /// For the page script (in a hidden textarea).
    var chartJSON: String {
        let chart: [String: Any] = [
            "labels": series.map { bucketLabel($0["start"]) },
            "datasets": chartSeries.map {
                ["label": $0.label, "data": $0.values, "color": $0.color, "hidden": $0.hidden] as [String: Any]
            },
            "yTitle": query.groupBy.isEmpty
                ? "Messages" : "\(Self.metrics.first { $0.name == query.metric }?.label ?? query.metric) (messages)",
        ]
        return (try? JSONSerialization.data(withJSONObject: chart, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    var links: [[String: Any]] {
        (data["links"] as? [[String: Any]] ?? []).map {
            [
                "url": $0["url"] as? String ?? "", "unique": BroadcastProgress.int($0["unique"]),
                "total": BroadcastProgress.int($0["total"]),
            ]
        }
    }

    var values: [String: Any] {
        let drawn = chartSeries
        let links = links
        return [
            "totals": totalsRows, "denominatorLabel": denominatorLabel,
            "groupRows": groupRows, "groupHeaders": groupHeaders, "hasGroups": !groups.isEmpty,
            "groupByLabel": AnalyticsQuery.groupings.first { $0.0 == query.groupBy }?.1 ?? "",
            "bucketRows": bucketRows, "bucketHeaders": drawn.map { ["label": $0.label] },
            "bucketName": query.bucket == "hour" ? "hour" : "day",
            "chartJSON": chartJSON,
            "chartDescription": query.groupBy.isEmpty
                ? "Messages per \(query.bucket) for each metric."
                : "\(Self.metrics.first { $0.name == query.metric }?.label ?? query.metric) messages per \(query.bucket) for each \(query.groupBy).",
            "links": links, "hasLinks": !links.isEmpty,
            "nothingSent": Self.count(data["totals"], "sent") == 0,
        ]
    }
}
