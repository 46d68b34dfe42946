import Contracts
import HTTPTypes
import RouteTestSupport
import Testing

/// `/messaging-destinations`: 422 naming every problem with its path (the body's own, an audience
/// unknown to the `audience_catalog` replica, templates missing or of another channel), the audience
/// by id or key, and create, get, list, PUT (keeping action ids), delete with their 404s.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct DestinationRouteTests {
    static let audienceId = "aud_vip"

    func path(_ test: RouteTest, _ suffix: String = "") -> String {
        "/spaces/\(test.space.id)/messaging-destinations\(suffix)"
    }

    func problems(_ response: APIResponse) -> [String] { response.problems.compactMap(\.stringValue) }

    @Test func theBodysProblemsAreListedWithTheirPaths() async throws {
        try await MessagingRouteTest.run { test in
            let response = try await test.api(
                .post, path(test),
                [
                    "name": "x", "audienceId": "a", "colour": 1,
                    "actions": [
                        ["type": "send_sms", "from": "12", "body": "hi"], ["type": "send_fax"],
                        ["type": "send_sms", "templateId": "tpl_1", "body": "both"], ["type": "send_sms"],
                    ],
                ])
            #expect(response.status == .unprocessableContent && response.errorCode == "invalid_destination")
            #expect(
                problems(response).map { String($0.prefix(while: { $0 != ":" })) } == [
                    "colour", "actions[0].from", "actions[1].type", "actions[2].body", "actions[3]",
                ])
            #expect(response.message == problems(response).joined(separator: "; "))
        }
    }

    @Test func anUnknownAudienceAndUnfitTemplatesAreEachAProblem() async throws {
        try await MessagingRouteTest.run { test in
            let email = try await test.template("EMAIL", "Welcome", validEmailContent)
            let response = try await test.api(
                .post, path(test),
                [
                    "name": "VIP", "audienceId": "no_such_audience",
                    "actions": [
                        ["type": "send_sms", "templateId": "tpl_missing"],
                        ["type": "send_sms", "templateId": .string(email)],
                        ["type": "send_email", "templateId": .string(email), "templateVersion": 3],
                    ],
                ])
            #expect(response.status == .unprocessableContent && response.errorCode == "invalid_destination")
            #expect(
                problems(response) == [
                    "audienceId: no audience \"no_such_audience\" in this space (an id or key; a just-created audience takes a moment to arrive)",
                    "actions[0].templateId: no template tpl_missing in this space",
                    "actions[1].templateId: template \(email) is a EMAIL template; send_sms sends SMS",
                    "actions[2].templateId: no template \(email) version 3 in this space",
                ])
        }
    }

    @Test func aDestinationIsCreatedReadEditedAndDeleted() async throws {
        try await MessagingRouteTest.run { test in
            try await test.space.seedAudience(id: Self.audienceId, key: "vip", name: "VIP customers", in: test.db)
            let created = try await test.api(
                .post, path(test),
                [
                    "name": "VIP", "audienceId": "vip",
                    "actions": [
                        ["type": "send_sms", "body": "Welcome", "purpose": "transactional"],
                        ["type": "send_sms", "trigger": "audience_exited", "body": "Bye", "purpose": "transactional"],
                    ],
                ])
            #expect(created.status == .created, "\(created.json)")
            let destination = created.data
            let id = try #require(destination["id"]?.stringValue)
            // The key is resolved to the audience's id; the view names both.
            #expect(destination["audienceId"] == .string(Self.audienceId))
            #expect(destination["audienceKey"] == "vip" && destination["audienceName"] == "VIP customers")
            #expect(destination["queuedForExistingMembers"] == 0)
            let actionIds = destination["actions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(actionIds.count == 2)

            let read = try await test.api(.get, path(test, "/\(id)"))
            #expect(read.status == .ok && read.data["audienceKey"] == "vip")
            let list = try await test.api(.get, path(test))
            #expect(list.data.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])

            // The first action sent back with its id keeps it; the second, left out, is removed.
            let edited = try await test.api(
                .put, path(test, "/\(id)"),
                [
                    "name": "VIP, renamed", "audienceId": .string(Self.audienceId),
                    "actions": [
                        [
                            "id": .string(actionIds[0]), "type": "send_sms", "body": "Welcome back",
                            "purpose": "transactional",
                        ],
                        ["type": "send_sms", "body": "New", "purpose": "transactional"],
                    ],
                ])
            #expect(edited.status == .ok, "\(edited.json)")
            let editedIds = edited.data["actions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(editedIds.count == 2 && editedIds[0] == actionIds[0] && !actionIds.contains(editedIds[1]))
            #expect(edited.data["name"] == "VIP, renamed")

            let foreignId = try await test.api(
                .put, path(test, "/\(id)"),
                [
                    "name": "VIP", "audienceId": "vip",
                    "actions": [
                        ["id": .string(actionIds[1]), "type": "send_sms", "body": "x", "purpose": "transactional"]
                    ],
                ])
            #expect(foreignId.status == .unprocessableContent)
            #expect(problems(foreignId).first?.hasPrefix("actions[0].id: no action \(actionIds[1])") == true)

            #expect(try await test.api(.delete, path(test, "/\(id)")).status == .noContent)
            for method in [HTTPRequest.Method.get, .delete] {
                let gone = try await test.api(method, path(test, "/\(id)"))
                #expect(gone.status == .notFound && gone.errorCode == "not_found")
                #expect(gone.message == "no messaging destination \(id) in this space")
            }
            let putGone = try await test.api(
                .put, path(test, "/\(id)"), ["name": "VIP", "audienceId": "vip", "actions": []])
            #expect(putGone.status == .notFound && putGone.errorCode == "not_found")
        }
    }
}
