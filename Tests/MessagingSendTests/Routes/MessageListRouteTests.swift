import Contracts
import Foundation
import PostgresNIO
import RouteTestSupport
import Testing

/// `GET /messages` and `GET /messages/{id}` over rows seeded in the messages table (the routes
/// only read it): newest first, every filter, keyset paging with the cursor, 400s for bad input.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct MessageListRouteTests {
    /// A message row as the intake and dispatcher would have left it.
    struct Row {
        var id: String
        var profileId = "use_a"
        var channel = "SMS"
        var templateId = "tpl_1"
        var state = "sent"
        var minutesAgo: Int
        var journeyId: String?
        var broadcastId: String?
        var destinationId: String?
        /// The sender the request named (`from` in the API); `sender` is the one used.
        var requestedSender: String?
    }

    static let base = Date(timeIntervalSince1970: 1_795_348_800)

    func seed(_ rows: [Row], space: String, in db: PostgresClient) async throws {
        for row in rows {
            let requestedAt = Self.base.addingTimeInterval(-60 * Double(row.minutesAgo))
            try await db.query(
                """
                INSERT INTO messages (space_id, id, profile_id, channel, template_id, purpose, requested_at, state,
                    next_attempt_at, journey_id, broadcast_id, destination_id, requested_sender, sender)
                VALUES (\(space), \(row.id), \(row.profileId), \(row.channel), \(row.templateId), 'transactional',
                    \(requestedAt), \(row.state), \(requestedAt), \(row.journeyId), \(row.broadcastId), \(row.destinationId),
                    \(row.requestedSender), \(row.requestedSender ?? "54321"))
                """, logger: TestPostgres.logger)
        }
    }

    static let rows = [
        Row(id: "msg_1", minutesAgo: 50),
        Row(id: "msg_2", profileId: "use_b", state: "failed", minutesAgo: 40, journeyId: "jou_1"),
        Row(id: "msg_3", channel: "EMAIL", templateId: "tpl_2", minutesAgo: 30, broadcastId: "brd_1"),
        Row(id: "msg_4", state: "skipped", minutesAgo: 20, destinationId: "dst_1"),
        Row(id: "msg_5", minutesAgo: 10, requestedSender: "MG" + String(repeating: "3", count: 32)),
    ]

    func ids(_ response: APIResponse) -> [String] {
        response.data.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    @Test func filtersSelectTheirRowsNewestFirst() async throws {
        try await MessagingRouteTest.run { test in
            try await seed(Self.rows, space: test.space.id, in: test.db)
            try await seed([Row(id: "msg_other", minutesAgo: 1)], space: "spa_other", in: test.db)
            let path = "/spaces/\(test.space.id)/messages"
            let expectations: [(String, [String])] = [
                ("", ["msg_5", "msg_4", "msg_3", "msg_2", "msg_1"]),
                ("?profileId=use_b", ["msg_2"]),
                ("?status=skipped", ["msg_4"]),
                ("?channel=email", ["msg_3"]),
                ("?templateId=tpl_1&status=sent", ["msg_5", "msg_1"]),
                ("?journeyId=jou_1", ["msg_2"]),
                ("?broadcastId=brd_1", ["msg_3"]),
                ("?destinationId=dst_1", ["msg_4"]),
                ("?since=2026-11-22T11:15:00Z&until=2026-11-22T11:35:00Z", ["msg_3", "msg_2"]),
                ("?profileId=use_a&status=unknown", []),
            ]
            for (query, expected) in expectations {
                let response = try await test.api(.get, path + query)
                #expect(response.status == .ok, "\(query)")
                #expect(ids(response) == expected, "\(query)")
            }
            let one = try await test.api(.get, "\(path)/msg_2")
            #expect(one.status == .ok && one.data["state"] == "failed" && one.data["sender"] == "54321")
            #expect(one.data.objectValue?.keys.contains("from") == false)
            let named = try await test.api(.get, "\(path)/msg_5")
            #expect(named.data["from"] == .string("MG" + String(repeating: "3", count: 32)))
            #expect(named.data["sender"] == named.data["from"])
            let other = try await test.api(.get, "\(path)/msg_other")
            #expect(other.status == .notFound && other.errorCode == "not_found")
        }
    }

    @Test func pagesFollowTheCursorToTheEnd() async throws {
        try await MessagingRouteTest.run { test in
            try await seed(Self.rows, space: test.space.id, in: test.db)
            let path = "/spaces/\(test.space.id)/messages?limit=2"
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let response = try await test.api(.get, path + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(response.status == .ok)
                seen += ids(response)
                cursor = response.json["next"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == ["msg_5", "msg_4", "msg_3", "msg_2", "msg_1"])
            #expect(pages == 3)
        }
    }

    /// Rows made in one transaction share their request time to the microsecond (a destination's
    /// sends to existing members). At this time a `Date` bound back as the cursor lands a microsecond
    /// early, which skipped the rest of the page's time: the cursor keeps whole microseconds.
    @Test func rowsSharingTheirTimeArePagedThroughWithoutALoss() async throws {
        try await MessagingRouteTest.run { test in
            try await seed(
                ["msg_a", "msg_b", "msg_c"].map { Row(id: $0, minutesAgo: 0) }, space: test.space.id, in: test.db)
            let micros = Int64(Self.base.timeIntervalSince1970) * 1_000_000 + 22
            try await test.db.query(
                """
                UPDATE messages SET requested_at = 'epoch'::timestamptz + \(micros) * interval '1 microsecond'
                WHERE space_id = \(test.space.id)
                """, logger: TestPostgres.logger)
            let path = "/spaces/\(test.space.id)/messages?limit=1"
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let response = try await test.api(.get, path + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(response.status == .ok)
                seen += ids(response)
                cursor = response.json["next"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == ["msg_c", "msg_b", "msg_a"])
        }
    }

    @Test func badParametersAre400() async throws {
        try await MessagingRouteTest.run { test in
            let path = "/spaces/\(test.space.id)/messages"
            let cases = [
                ("?status=nope", "status must be one of pending, preparing, sending, sent, failed, unknown, skipped"),
                ("?cursor=garbage!", "cursor is not one this API gave"),
                ("?channel=FAX", "channel must be EMAIL, SMS or WHATSAPP"),
                ("?since=yesterday", "since must be an ISO-8601 timestamp"),
                ("?until=2026-13-45", "until must be an ISO-8601 timestamp"),
                ("?limit=0", "limit must be an integer in 1...500"),
                ("?limit=501", "limit must be an integer in 1...500"),
            ]
            for (query, message) in cases {
                let response = try await test.api(.get, path + query)
                #expect(response.status == .badRequest, "\(query)")
                #expect(response.errorCode == "invalid_request_error" && response.message == message, "\(query)")
            }
        }
    }
}
