import Contracts
import Persistence
import RouteTestSupport
import Testing

/// `/broadcasts`: 400s for the request's own fields, 422 listing every problem (an audience unknown
/// to the `audience_catalog` replica, a missing or unfit template), the audience by id or key, and
/// the estimate of recipients.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct BroadcastRouteTests {
    func path(_ test: RouteTest, _ suffix: String = "") -> String { "/spaces/\(test.space.id)/broadcasts\(suffix)" }

    @Test func requestFieldsAreRefusedWith400() async throws {
        try await JourneysRouteTest.run { test in
            let valid: [String: JSONValue] = [
                "name": "News", "audienceId": "pros", "channel": "SMS", "templateId": "tpl_sms",
            ]
            func with(_ changes: [String: JSONValue]) -> JSONValue { .object(valid.merging(changes) { $1 }) }
            let cases: [(JSONValue, String)] = [
                (
                    ["name": " "],
                    "name is required; audienceId is required; channel is required; templateId is required"
                ),
                (with(["channel": "FAX"]), "channel must be EMAIL, SMS or WHATSAPP"),
                (with(["purpose": "spam"]), "purpose must be marketing or transactional"),
                (with(["scheduledAt": "tomorrow"]), "scheduledAt must be an ISO-8601 timestamp"),
                (with(["templateVersion": 0]), "templateVersion must be 1 or more"),
            ]
            for (body, message) in cases {
                let response = try await test.api(.post, path(test), body)
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_request_error" && response.message == message)
            }
        }
    }

    @Test func anUnknownAudienceAndTemplateAreBothProblems() async throws {
        try await JourneysRouteTest.run { test in
            let response = try await test.api(
                .post, path(test),
                ["name": "Nobody", "audienceId": "no_such_audience", "channel": "SMS", "templateId": "tpl_missing"])
            #expect(response.status == .unprocessableContent && response.errorCode == "invalid_broadcast")
            #expect(
                response.problems == [
                    .string("audienceId: \(AudienceCatalogReplica.unknown("no_such_audience"))"),
                    "templateId: template tpl_missing does not exist in this space",
                ])
            #expect(response.message == response.problems.compactMap(\.stringValue).joined(separator: "; "))
        }
    }

    @Test func anUnfitTemplateAndSettingsAreEachAProblem() async throws {
        try await JourneysRouteTest.run { test in
            try await test.space.seedAudience(id: "aud_pros", key: "pros", name: "Pros", in: test.db)
            try await test.seedTemplate("tpl_email", channel: "EMAIL", versions: 2)
            let response = try await test.api(
                .post, path(test),
                [
                    "name": "News", "audienceId": "pros", "channel": "SMS", "templateId": "tpl_email",
                    "templateVersion": 3, "throttlePerMinute": 0, "group": "News",
                ])
            #expect(response.status == .unprocessableContent && response.errorCode == "invalid_broadcast")
            #expect(
                response.problems == [
                    "templateId: template tpl_email is a EMAIL template, the broadcast sends SMS",
                    "templateVersion: template tpl_email has versions 1 to 2",
                    "throttlePerMinute: must be between 1 and 1000000",
                    "group: groups exist on EMAIL only",
                ])
        }
    }

    @Test func theAudienceIsTakenByKeyAndStoredById() async throws {
        try await JourneysRouteTest.run { test in
            try await test.space.seedAudience(id: "aud_pros", key: "pros", name: "Pros", in: test.db)
            try await test.seedTemplate("tpl_sms", channel: "SMS")
            let created = try await test.api(
                .post, path(test),
                [
                    "name": "Pros", "audienceId": "pros", "channel": "SMS", "templateId": "tpl_sms",
                    "scheduledAt": "2099-01-01T00:00:00Z",
                ])
            #expect(created.status == .created, "\(created.json)")
            #expect(created.data["audienceId"] == "aud_pros")
            let id = try #require(created.data["id"]?.stringValue)
            let read = try await test.api(.get, path(test, "/\(id)"))
            #expect(read.status == .ok && read.data["audienceId"] == "aud_pros")
            let list = try await test.api(.get, path(test))
            #expect(list.data.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
            let unknown = try await test.api(.get, path(test, "/brd_nope"))
            #expect(unknown.status == .notFound && unknown.errorCode == "not_found")
            #expect(unknown.message == "no broadcast brd_nope in this space")
        }
    }

    @Test func theEstimateCountsTheAudiencesMembers() async throws {
        try await JourneysRouteTest.run { test in
            try await test.space.seedAudience(id: "aud_pros", key: "pros", name: "Pros", in: test.db)
            try await test.seedMembers("aud_pros", ["use_1", "use_2", "use_3"])
            for idOrKey in ["pros", "aud_pros"] {
                let estimate = try await test.api(.get, path(test, "/estimate?audienceId=\(idOrKey)"))
                #expect(estimate.status == .ok)
                #expect(
                    estimate.data == [
                        "audienceId": "aud_pros", "audienceKey": "pros", "audienceName": "Pros", "recipients": 3,
                    ])
            }
            let unknown = try await test.api(.get, path(test, "/estimate?audienceId=no_such_audience"))
            #expect(unknown.status == .unprocessableContent && unknown.errorCode == "unknown_audience")
            #expect(unknown.message == AudienceCatalogReplica.unknown("no_such_audience"))
            let missing = try await test.api(.get, path(test, "/estimate"))
            #expect(missing.status == .badRequest && missing.message == "audienceId is required")
        }
    }
}
