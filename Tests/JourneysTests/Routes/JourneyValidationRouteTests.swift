import Contracts
import RouteTestSupport
import Testing

/// `POST /journeys/validate`: the publication checks on a definition that is not stored, with
/// templates a client is about to create counted as existing.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct JourneyValidationRouteTests {
    func send(_ templateId: String, channel: String = "SMS", version: Int? = nil) -> JSONValue {
        var step: [String: JSONValue] = [
            "id": "hello", "type": "send", "channel": .string(channel), "templateId": .string(templateId), "next": nil,
        ]
        if let version { step["templateVersion"] = .number(Double(version)) }
        return ["entry": ["type": "event", "event": "Signed Up"], "start": "hello", "steps": [.object(step)]]
    }

    @Test func aDefinitionIsCheckedAsPublishWouldWithoutBeingStored() async throws {
        try await JourneysRouteTest.run { test in
            try await test.seedTemplate("tpl_sms", channel: "SMS")
            let path = "/spaces/\(test.space.id)/journeys/validate"
            let valid = try await test.api(.post, path, ["definition": send("tpl_sms")])
            #expect(valid.status == .ok)
            #expect(valid.data["valid"] == true && valid.data["problems"] == [])

            let unknown = try await test.api(.post, path, ["definition": send("tpl_missing")])
            #expect(unknown.data["valid"] == false)
            #expect(unknown.data["problems"]?.arrayValue?.count == 1)

            // A template about to be created counts, at version 1 and on its own channel only.
            let pending: JSONValue = [["id": "pending:SMS/welcome", "channel": "SMS"]]
            let counted = try await test.api(
                .post, path, ["definition": send("pending:SMS/welcome"), "templates": pending])
            #expect(counted.data["valid"] == true)
            let pinned = try await test.api(
                .post, path, ["definition": send("pending:SMS/welcome", version: 2), "templates": pending])
            #expect(pinned.data["valid"] == false)
            let otherChannel = try await test.api(
                .post, path, ["definition": send("pending:SMS/welcome", channel: "EMAIL"), "templates": pending])
            #expect(otherChannel.data["valid"] == false)

            let bad = try await test.api(.post, path, ["definition": "nope"])
            #expect(bad.status == .badRequest && bad.message == "definition is required (an object)")
            let badTemplate = try await test.api(
                .post, path, ["definition": send("tpl_sms"), "templates": [["id": "x", "channel": "FAX"]]])
            #expect(badTemplate.status == .badRequest)
            // Nothing was stored.
            let list = try await test.api(.get, "/spaces/\(test.space.id)/journeys")
            #expect(list.data == [])
        }
    }
}
