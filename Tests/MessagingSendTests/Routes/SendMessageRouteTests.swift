import Contracts
import RouteTestSupport
import Testing

/// `POST /messages` ("send now"): refused at the API with 400 for a bad request and 422 for a
/// template that does not exist or is of another channel, before anything is published.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct SendMessageRouteTests {
    @Test func badRequestsAre400WithTheReason() async throws {
        try await MessagingRouteTest.run { test in
            let sms = try await test.template("SMS", "Promo", ["body": "Hi"], purpose: "transactional")
            let cases: [(JSONValue, String)] = [
                (["channel": "SMS", "templateId": .string(sms)], "profileId is required"),
                (["profileId": "use_1", "channel": "SMS"], "templateId is required"),
                (
                    ["profileId": "use_1", "channel": "FAX", "templateId": .string(sms)],
                    "channel must be EMAIL, SMS or WHATSAPP"
                ),
                (
                    ["profileId": "use_1", "channel": "SMS", "templateId": .string(sms), "purpose": "x"],
                    "purpose must be marketing or transactional"
                ),
                (["profileId": " ", "channel": "SMS", "templateId": .string(sms)], "profileId is empty"),
                (
                    ["profileId": "use_1", "channel": "SMS", "templateId": .string(sms), "templateVersion": 0],
                    "templateVersion must be 1 or more"
                ),
                (
                    ["profileId": "use_1", "channel": "SMS", "templateId": .string(sms), "group": "News"],
                    "group applies to EMAIL messages only"
                ),
            ]
            for (body, message) in cases {
                let response = try await test.api(.post, "/spaces/\(test.space.id)/messages", body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorCode == "invalid_request_error")
                #expect(response.message == message)
            }
            let badSender = try await test.api(
                .post, "/spaces/\(test.space.id)/messages",
                ["profileId": "use_1", "channel": "SMS", "templateId": .string(sms), "from": "whatsapp:+1415"])
            #expect(badSender.status == .badRequest && badSender.message.contains("from must be"))
        }
    }

    @Test func anUnknownTemplateOrVersionIs422() async throws {
        try await MessagingRouteTest.run { test in
            let sms = try await test.template("SMS", "Promo", ["body": "Hi"], purpose: "transactional")
            let missing = try await test.api(
                .post, "/spaces/\(test.space.id)/messages",
                ["profileId": "use_1", "channel": "SMS", "templateId": "tpl_missing"])
            #expect(missing.status == .unprocessableContent && missing.errorCode == "unknown_template")
            #expect(missing.message == "no template tpl_missing in space \(test.space.id)")
            let version = try await test.api(
                .post, "/spaces/\(test.space.id)/messages",
                ["profileId": "use_1", "channel": "SMS", "templateId": .string(sms), "templateVersion": 5])
            #expect(version.errorCode == "unknown_template")
            #expect(version.message == "no template \(sms) version 5 in space \(test.space.id)")
        }
    }

    @Test func aTemplateOfAnotherChannelIs422() async throws {
        try await MessagingRouteTest.run { test in
            let sms = try await test.template("SMS", "Promo", ["body": "Hi"], purpose: "transactional")
            let response = try await test.api(
                .post, "/spaces/\(test.space.id)/messages",
                ["profileId": "use_1", "channel": "EMAIL", "templateId": .string(sms)])
            #expect(response.status == .unprocessableContent && response.errorCode == "template_channel_mismatch")
            #expect(response.message == "template \(sms) is a SMS template, not EMAIL")
        }
    }

    @Test(.enabled(if: MessagingRouteTest.brokers != nil))
    func anAcceptedRequestIsPublishedAndAnswers202WithItsId() async throws {
        try await MessagingRouteTest.run { test in
            let sms = try await test.template("SMS", "Promo", ["body": "Hi"], purpose: "transactional")
            let response = try await test.api(
                .post, "/spaces/\(test.space.id)/messages",
                ["id": "msg_route_test", "profileId": "use_1", "channel": "sms", "templateId": .string(sms)])
            #expect(response.status == .accepted, "\(response.json)")
            #expect(response.data["messageId"] == "msg_route_test")
        }
    }
}
