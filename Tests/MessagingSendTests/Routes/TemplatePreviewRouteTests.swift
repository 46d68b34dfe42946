import Contracts
import Foundation
import RouteTestSupport
import Testing

@testable import MessagingSendCore

/// Previews of drafts, as an editor asks for them while a person types: unsaved content of a saved
/// template or of one not saved yet, for a known profile or typed traits; merge-tag errors with
/// their positions, and the save checks beside the rendering.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct TemplatePreviewRouteTests {
    func fields(_ response: APIResponse) -> [String] { response.problems.compactMap { $0["field"]?.stringValue } }

    /// A profile in messaging-send's replica, as `engage.profile-updates` would bring it.
    func seedProfile(_ test: RouteTest, id: String, traits: [String: JSONValue]) async throws {
        let update = ProfileUpdate(
            spaceId: test.space.id, profileId: id, kind: .traitsChanged, occurredAt: Date(), causedByMessageId: "m-1",
            traits: traits)
        try await test.db.withConnection { connection in
            try await ReplicaStore(db: test.db, logger: TestPostgres.logger).apply(update, on: connection)
        }
    }

    @Test func aDraftOfASavedTemplateRendersWithoutANewVersion() async throws {
        try await MessagingRouteTest.run { test in
            let id = try await test.template("EMAIL", "Welcome", validEmailContent)
            let path = "/spaces/\(test.space.id)/templates/\(id)"
            try await seedProfile(test, id: "use_ada", traits: ["first_name": "Ada", "city": "Paris"])
            let draft: JSONValue = [
                "subject": "Hello {{profile.traits.first_name}} from {{profile.traits.city}}",
                "html": "<p>Hi {{profile.traits.first_name}}</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>",
            ]
            let forProfile = try await test.api(.post, path + "/preview", ["profileId": "use_ada", "content": draft])
            #expect(forProfile.status == .ok, "\(forProfile.json)")
            #expect(forProfile.data["rendered"]?["subject"] == "Hello Ada from Paris")
            let link = "\(MessagingRouteTest.publicURL)/u/preview"
            #expect(
                forProfile.data["rendered"]?["html"]?.stringValue
                    == "<p>Hi Ada</p><a href=\"\(link)\">Unsubscribe</a>")
            #expect(forProfile.data["templateId"]?.stringValue == id && forProfile.data["version"] == nil)
            #expect(forProfile.data["saveProblems"]?.arrayValue?.isEmpty == true)

            // Typed traits lie over the profile's own.
            let overlaid = try await test.api(
                .post, path + "/preview", ["profileId": "use_ada", "traits": ["city": "Lyon"], "content": draft])
            #expect(overlaid.data["rendered"]?["subject"] == "Hello Ada from Lyon")

            // Nothing was saved: the template is still at version 1 with its own subject.
            let versions = try await test.api(.get, path + "/versions")
            #expect(versions.data.arrayValue?.count == 1)
            let stored = try await test.api(.post, path + "/preview", ["traits": ["first_name": "Ada"]])
            #expect(stored.data["rendered"]?["subject"] == "Hi Ada" && stored.data["version"] == 1)
            #expect(stored.data["saveProblems"] == nil)

            let both = try await test.api(.post, path + "/preview", ["version": 1, "content": draft])
            #expect(both.status == .badRequest)
            #expect(both.message == "send either content (a draft) or version (a stored one), not both")
            let testSend = try await test.api(
                .post, path + "/test-sends", ["profileId": "use_ada", "content": draft])
            #expect(testSend.status == .badRequest)
            #expect(testSend.message == "a test send sends a stored version: save the draft first")
        }
    }

    @Test func aTemplateNotSavedYetPreviewsAsItWouldBeSaved() async throws {
        try await MessagingRouteTest.run { test in
            let path = "/spaces/\(test.space.id)/templates/preview"
            let sms = try await test.api(
                .post, path,
                [
                    "channel": "SMS", "purpose": "marketing", "traits": ["first_name": "Ada"],
                    "content": [
                        "body": "Hi {{profile.traits.first_name}}", "mediaUrls": ["https://cdn.shop.example/a.png"],
                    ],
                ])
            #expect(sms.status == .ok, "\(sms.json)")
            #expect(sms.data["rendered"]?["body"] == "Hi Ada\nReply STOP to unsubscribe.")
            #expect(sms.data["rendered"]?["mediaUrls"] == ["https://cdn.shop.example/a.png"])
            #expect(sms.data["templateId"] == nil)

            // Save checks come back beside the rendering: this email could not be saved as marketing.
            let email = try await test.api(
                .post, path,
                [
                    "channel": "EMAIL", "traits": ["first_name": "Ada"],
                    "content": ["subject": "Hi {{profile.traits.first_name}}", "html": "<p>No link</p>"],
                ])
            #expect(email.status == .ok && email.data["rendered"]?["subject"] == "Hi Ada")
            #expect(email.data["saveProblems"]?.arrayValue?.compactMap { $0["field"]?.stringValue } == ["html"])

            let requests: [(JSONValue, String)] = [
                (["content": ["body": "x"]], "channel must be EMAIL, SMS or WHATSAPP"),
                (["channel": "SMS"], "content is required: the draft to preview"),
                (
                    ["channel": "SMS", "purpose": "spam", "content": ["body": "x"]],
                    "purpose must be marketing or transactional"
                ),
            ]
            for (body, message) in requests {
                let response = try await test.api(.post, path, body)
                #expect(response.status == .badRequest && response.message == message)
            }
            let typo = try await test.api(.post, path, ["channel": "SMS", "content": ["body": "x", "mediaUrl": "y"]])
            #expect(typo.status == .unprocessableContent && typo.errorCode == "invalid_template")
            #expect(fields(typo) == ["content.mediaUrl"])
            let unknownProfile = try await test.api(
                .post, path, ["channel": "SMS", "profileId": "use_nobody", "content": ["body": "x"]])
            #expect(unknownProfile.status == .notFound)
        }
    }

    @Test func mergeTagErrorsOfADraftComeAllAtOnceWithTheirLines() async throws {
        try await MessagingRouteTest.run { test in
            let response = try await test.api(
                .post, "/spaces/\(test.space.id)/templates/preview",
                [
                    "channel": "EMAIL", "purpose": "transactional",
                    "content": [
                        "subject": "Hi {{ profile.traits.first_name | shout }}",
                        "html": "<p>ok</p>\n<p>{% frobnicate %}</p>",
                    ],
                ])
            #expect(response.status == .unprocessableContent)
            #expect(response.errorCode == "template_error")
            #expect(fields(response) == ["subject", "html"])
            let html = response.problems.first { $0["field"] == "html" }
            #expect(html?["line"] == 2 && html?["reason"]?.stringValue?.contains("frobnicate") == true)
            #expect(response.message.contains("html, line 2"))

            // With a merge-tag error, every other problem a save would find is listed too.
            let sms = try await test.api(
                .post, "/spaces/\(test.space.id)/templates/preview",
                ["channel": "SMS", "content": ["body": "Hi {{ x | shout }}", "mediaUrls": ["ftp://a"]]])
            #expect(sms.status == .unprocessableContent && sms.errorCode == "template_error")
            #expect(fields(sms) == ["mediaUrls[0]", "body"])
        }
    }
}
