import Contracts
import Foundation
import RouteTestSupport
import Testing

/// `/templates`: each refusal with its status, code and message, and 422s listing every problem
/// with its field (and position, for merge-tag errors).
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct TemplateRouteTests {
    func create(_ test: RouteTest, _ body: JSONValue) async throws -> APIResponse {
        try await test.api(.post, "/spaces/\(test.space.id)/templates", body)
    }

    func fields(_ response: APIResponse) -> [String] { response.problems.compactMap { $0["field"]?.stringValue } }

    @Test func requestFieldsAreRefusedWith400() async throws {
        try await MessagingRouteTest.run { test in
            let cases: [(JSONValue, String)] = [
                (["channel": "EMAIL", "content": validEmailContent], "name is required (at most 200 characters)"),
                (
                    [
                        "name": .string(String(repeating: "n", count: 201)), "channel": "EMAIL",
                        "content": validEmailContent,
                    ],
                    "name is required (at most 200 characters)"
                ),
                (
                    ["name": "x", "channel": "FAX", "content": validEmailContent],
                    "channel must be EMAIL, SMS or WHATSAPP"
                ),
                (
                    ["name": "x", "channel": "EMAIL", "purpose": "spam", "content": validEmailContent],
                    "purpose must be marketing or transactional"
                ),
                (["name": "x", "channel": "EMAIL"], "content is required"),
            ]
            for (body, message) in cases {
                let response = try await create(test, body)
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_request_error")
                #expect(response.message == message)
            }
            let notJSON = try await test.api(.post, "/spaces/\(test.space.id)/templates", .string("{"))
            #expect(notJSON.status == .badRequest && notJSON.message.hasPrefix("invalid JSON body"))
        }
    }

    @Test func everyProblemOfAnEmailIsListedWithItsField() async throws {
        try await MessagingRouteTest.run { test in
            let response = try await create(
                test,
                [
                    "name": "Bad", "channel": "EMAIL", "purpose": "marketing",
                    "content": ["subject": " ", "fromAddress": "not-an-address", "body": "x", "contentSid": "HX1"],
                ])
            #expect(response.status == .unprocessableContent)
            #expect(response.errorCode == "invalid_template")
            #expect(
                fields(response) == [
                    "subject", "html", "fromAddress", "body", "contentSid",
                ])
            #expect(response.message == response.problems.map(Self.describe).joined(separator: "; "))
        }
    }

    @Test func aMarketingEmailNeedsAnUnsubscribeLink() async throws {
        try await MessagingRouteTest.run { test in
            let response = try await create(
                test,
                [
                    "name": "No link", "channel": "EMAIL", "purpose": "marketing",
                    "content": ["subject": "Hi", "html": "<p>Hello</p>"],
                ])
            #expect(response.status == .unprocessableContent && fields(response) == ["html"])
            #expect(response.message.contains("unsubscribe_link"))
        }
    }

    @Test func mergeTagErrorsCarryTheirLineAndColumn() async throws {
        try await MessagingRouteTest.run { test in
            let response = try await create(
                test,
                [
                    "name": "Bad", "channel": "EMAIL", "purpose": "transactional",
                    "content": [
                        "subject": "Hi {{ profile.traits.first_name | shout }}", "html": "<p>ok</p>\n{% frobnicate %}",
                    ],
                ])
            #expect(response.status == .unprocessableContent)
            let problems = Dictionary(
                uniqueKeysWithValues: response.problems.map { ($0["field"]?.stringValue ?? "", $0) })
            #expect(problems["subject"]?["reason"]?.stringValue?.contains("Unknown filter 'shout'") == true)
            #expect(problems["subject"]?["line"] == 1)
            #expect((problems["subject"]?["column"]?.numberValue ?? 0) > 1)
            #expect(problems["html"]?["reason"]?.stringValue?.contains("frobnicate") == true)
            #expect(problems["html"]?["line"] == 2)
        }
    }

    @Test func smsAndWhatsAppContentIsChecked() async throws {
        try await MessagingRouteTest.run { test in
            let typo = try await create(
                test,
                [
                    "name": "MMS", "channel": "SMS", "purpose": "transactional",
                    "content": ["body": "See", "mediaUrl": ["https://cdn.shop.example/a.png"]],
                ])
            #expect(typo.status == .unprocessableContent && fields(typo) == ["content.mediaUrl"])
            #expect(typo.message.contains("did you mean mediaUrls?"))
            let media = try await create(
                test,
                [
                    "name": "Media", "channel": "SMS", "purpose": "transactional",
                    "content": [
                        "body": .string(String(repeating: "x", count: 1_601)), "subject": "s",
                        "mediaUrls": .array(Array(repeating: "ftp://x", count: 11)),
                    ],
                ])
            #expect(
                fields(media) == ["subject", "body", "mediaUrls"] + (0..<11).map { "mediaUrls[\($0)]" })
            let noBody = try await create(
                test, ["name": "Empty", "channel": "SMS", "purpose": "transactional", "content": [:]])
            #expect(fields(noBody) == ["body"])
            let whatsapp = try await create(
                test,
                [
                    "name": "WA", "channel": "WHATSAPP",
                    "content": ["contentSid": "HX123", "body": "x", "from": "+14155550100"],
                ])
            #expect(whatsapp.status == .unprocessableContent)
            let badSender = try await create(
                test, ["name": "Bad from", "channel": "WHATSAPP", "content": ["from": "+14155550100", "body": "x"]])
            #expect(badSender.status == .unprocessableContent && fields(badSender) == ["from"])
            #expect(
                Set(fields(whatsapp)) == [
                    "from", "contentSid", "body (with contentSid the approved template is the body)",
                ])
        }
    }

    @Test func aMarketingSMSGetsTheOptOutNotice() async throws {
        try await MessagingRouteTest.run { test in
            let created = try await create(
                test, ["name": "Promo", "channel": "SMS", "purpose": "marketing", "content": ["body": "20% off today"]])
            #expect(created.status == .created)
            #expect(created.data["content"]?["body"] == "20% off today\nReply STOP to unsubscribe.")
            #expect(created.data["version"] == 1)
        }
    }

    @Test func editsWriteVersionsAndRefuseWhatCannotChange() async throws {
        try await MessagingRouteTest.run { test in
            let id = try await test.template("EMAIL", "Welcome", validEmailContent)
            let path = "/spaces/\(test.space.id)/templates/\(id)"
            let duplicate = try await create(
                test, ["name": "Welcome", "channel": "EMAIL", "content": validEmailContent])
            #expect(duplicate.status == .conflict && duplicate.errorCode == "conflict")

            let channel = try await test.api(.put, path, ["channel": "SMS", "content": ["body": "x"]])
            #expect(
                channel.status == .badRequest && channel.message == "a template's channel cannot change (it is EMAIL)")
            let noContent = try await test.api(.put, path, ["name": "Renamed"])
            #expect(
                noContent.status == .badRequest
                    && noContent.message == "content is required: an edit writes a new version")
            let invalid = try await test.api(.put, path, ["content": ["subject": "Hi", "html": "<p>no link</p>"]])
            #expect(invalid.status == .unprocessableContent && fields(invalid) == ["html"])

            var edited = validEmailContent
            if case .object(var fields) = edited {
                fields["subject"] = "Welcome, {{profile.traits.first_name | upcase}}"
                edited = .object(fields)
            }
            let edit = try await test.api(.put, path, ["content": edited])
            #expect(edit.status == .ok && edit.data["version"] == 2)
            let first = try await test.api(.get, path + "?version=1")
            #expect(first.data["content"]?["subject"] == validEmailContent["subject"])
            let versions = try await test.api(.get, path + "/versions")
            #expect(versions.data.arrayValue?.map { $0["version"] } == [1, 2])

            let preview = try await test.api(.post, path + "/preview", ["traits": ["first_name": "ada"]])
            #expect(preview.status == .ok && preview.data["rendered"]?["subject"] == "Welcome, ADA")
            let firstPreview = try await test.api(
                .post, path + "/preview", ["version": 1, "traits": ["first_name": ""]])
            #expect(firstPreview.data["rendered"]?["subject"] == "Hi there" && firstPreview.data["version"] == 1)
        }
    }

    @Test func unknownTemplatesVersionsAndProfilesAre404Or400() async throws {
        try await MessagingRouteTest.run { test in
            let id = try await test.template("EMAIL", "Welcome", validEmailContent)
            let space = "/spaces/\(test.space.id)"
            let notFound: [(APIResponse, String)] = [
                (
                    try await test.api(.get, "\(space)/templates/tpl_nope"),
                    "no template tpl_nope in space \(test.space.id)"
                ),
                (
                    try await test.api(.get, "\(space)/templates/\(id)?version=9"),
                    "no template \(id) version 9 in space \(test.space.id)"
                ),
                (
                    try await test.api(.get, "\(space)/templates/tpl_nope/versions"),
                    "no template tpl_nope in space \(test.space.id)"
                ),
                (
                    try await test.api(.put, "\(space)/templates/tpl_nope", ["content": validEmailContent]),
                    "no template tpl_nope in space \(test.space.id)"
                ),
                (
                    try await test.api(.post, "\(space)/templates/tpl_nope/preview", [:]),
                    "no template tpl_nope in space \(test.space.id)"
                ),
                (
                    try await test.api(.post, "\(space)/templates/\(id)/preview", ["profileId": "use_nobody"]),
                    "profile use_nobody is not known to the messaging service"
                ),
                (
                    try await test.api(.post, "\(space)/templates/tpl_nope/test-sends", ["profileId": "use_1"]),
                    "no template tpl_nope in space \(test.space.id)"
                ),
            ]
            for (response, message) in notFound {
                #expect(response.status == .notFound && response.errorCode == "not_found")
                #expect(response.message == message)
            }
            let badVersion = try await test.api(.get, "\(space)/templates/\(id)?version=0")
            #expect(badVersion.status == .badRequest && badVersion.message == "version must be a positive integer")
            let badChannel = try await test.api(.get, "\(space)/templates?channel=FAX")
            #expect(badChannel.status == .badRequest && badChannel.message == "channel must be EMAIL, SMS or WHATSAPP")
            let noProfile = try await test.api(.post, "\(space)/templates/\(id)/test-sends", [:])
            #expect(noProfile.status == .badRequest && noProfile.message == "profileId (the test profile) is required")
            // Refused here, not dead-lettered after a 202.
            for profileId in ["  ", String(repeating: "p", count: 201)] {
                let refused = try await test.api(
                    .post, "\(space)/templates/\(id)/test-sends", ["profileId": .string(profileId)])
                #expect(
                    refused.status == .badRequest && refused.message == "profileId must be 1 to 200 bytes, not blank")
            }
            let versionZero = try await test.api(
                .post, "\(space)/templates/\(id)/test-sends", ["profileId": "use_1", "version": 0])
            #expect(versionZero.status == .badRequest && versionZero.message == "version must be 1 or more")

            #expect(try await test.api(.delete, "\(space)/templates/\(id)").status == .noContent)
            let gone = try await test.api(.delete, "\(space)/templates/\(id)")
            #expect(gone.status == .notFound && gone.errorCode == "not_found")
            // A deleted template's versions are gone from the API with it.
            let versions = try await test.api(.get, "\(space)/templates/\(id)/versions")
            #expect(versions.status == .notFound && versions.errorCode == "not_found")
        }
    }

    static func describe(_ problem: JSONValue) -> String {
        let field = problem["field"]?.stringValue ?? ""
        let reason = problem["reason"]?.stringValue ?? ""
        if let line = problem["line"]?.numberValue, let column = problem["column"]?.numberValue {
            return "\(field), line \(Int(line)), column \(Int(column)): \(reason)"
        }
        return "\(field): \(reason)"
    }
}
