import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// `GET /spaces/{space_id}/analytics/messages`: message analytics for dashboards.
///
/// Query: `from`, `to` (ISO-8601; default the last 7 days), `bucket` (`hour` | `day`, default
/// `day`), `timezone` (IANA name, default `UTC`), filters `channel`, `templateId`, `journeyId`,
/// `stepId`, `broadcastId`, `groupBy` (`channel` | `template` | `journey` | `step` | `broadcast`),
/// `groupSeries` (`true`: each group with its own series), `denominator` (a metric, default `sent`).
struct AnalyticsAPI: Sendable {
    let auth: SpaceTokenAuth
    let reader: AnalyticsReader

    /// Keeps one answer's series to a size a dashboard draws.
    static let maxBuckets = 2_000

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/spaces/:space_id/analytics/messages") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let query = try Self.query(request, spaceId: spaceId)
            return try JSONBody.response(DataEnvelope(data: try await reader.report(query)))
        }
    }

    static func query(_ request: Request, spaceId: String, now: Date = Date()) throws -> AnalyticsReader.Query {
        func time(_ name: String) throws -> Date? {
            guard let text = QueryParameters.string(request, name) else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw APIError.badRequest("\(name) must be an ISO-8601 time, e.g. 2026-11-01T00:00:00Z")
            }
            return date
        }
        let to = try time("to") ?? now
        let from = try time("from") ?? to.addingTimeInterval(-7 * 86_400)
        guard from < to else { throw APIError.badRequest("from must be before to") }
        let bucketText = QueryParameters.string(request, "bucket") ?? "day"
        guard let bucket = AnalyticsReader.Bucket(rawValue: bucketText) else {
            throw APIError.badRequest("bucket must be hour or day")
        }
        let seconds: Double = bucket == .hour ? 3_600 : 86_400
        guard to.timeIntervalSince(from) / seconds <= Double(maxBuckets) else {
            throw APIError.badRequest(
                "the range holds more than \(maxBuckets) \(bucket.rawValue) buckets; narrow it or use a larger bucket")
        }
        let timeZone = QueryParameters.string(request, "timezone") ?? "UTC"
        guard TimeZone(identifier: timeZone) != nil else {
            throw APIError.badRequest("timezone must be an IANA time zone name, e.g. Europe/Paris")
        }
        var query = AnalyticsReader.Query(spaceId: spaceId, from: from, to: to, bucket: bucket, timeZone: timeZone)
        if let channel = QueryParameters.string(request, "channel") {
            guard let parsed = SubscriptionChannel(loose: channel) else {
                throw APIError.badRequest("channel must be email, sms or whatsapp")
            }
            query.channel = parsed.columnName
        }
        query.templateId = QueryParameters.string(request, "templateId") ?? ""
        query.journeyId = QueryParameters.string(request, "journeyId") ?? ""
        query.stepId = QueryParameters.string(request, "stepId") ?? ""
        query.broadcastId = QueryParameters.string(request, "broadcastId") ?? ""
        if let grouping = QueryParameters.string(request, "groupBy") {
            guard let parsed = AnalyticsReader.Grouping(rawValue: grouping) else {
                throw APIError.badRequest(
                    "groupBy must be one of "
                        + AnalyticsReader.Grouping.allCases.map(\.rawValue).joined(separator: ", "))
            }
            query.groupBy = parsed
        }
        if let groupSeries = QueryParameters.string(request, "groupSeries") {
            guard groupSeries == "true" || groupSeries == "false" else {
                throw APIError.badRequest("groupSeries must be true or false")
            }
            guard query.groupBy != nil || groupSeries == "false" else {
                throw APIError.badRequest("groupSeries needs groupBy")
            }
            query.groupSeries = groupSeries == "true"
        }
        if let denominator = QueryParameters.string(request, "denominator") {
            guard let metric = MessageMetric(rawValue: denominator) else {
                throw APIError.badRequest(
                    "denominator must be a metric: " + MessageMetric.allCases.map(\.rawValue).joined(separator: ", "))
            }
            query.denominator = metric
        }
        return query
    }
}
