import Contracts
import Foundation
import Testing

@testable import MessagingSendCore

@Suite struct DestinationDraftTests {
    func parse(_ text: String, existing: [DestinationAction] = []) throws(TemplateProblems) -> DestinationDraft {
        var next = 0
        return try DestinationDraft.parse(try! JSONParser.parse(Array(text.utf8)), existing: existing) {
            next += 1
            return "act_\(next)"
        }
    }

    func fields(_ text: String) -> [String] {
        do {
            _ = try parse(text)
            return []
        } catch {
            return error.problems.map(\.field)
        }
    }

    @Test func actionsTakeTheirChannelsContentAndSenders() throws {
        let draft = try parse(
            """
            {"name": "VIP", "audienceId": "vip", "sendToExistingMembers": true, "actions": [
              {"type": "send_sms", "from": "MG\(String(repeating: "a", count: 32))", "body": "Hi", "mediaUrls": ["https://x.example/a.png"]},
              {"type": "send_whatsapp", "trigger": "audience_exited", "contentSid": "HX\(String(repeating: "b", count: 32))",
               "contentVariables": {"1": "{{profile.traits.first_name}}"}},
              {"type": "send_email", "templateId": "tpl_1", "templateVersion": 2, "group": "News", "enabled": false}]}
            """)
        #expect(draft.sendToExistingMembers && draft.enabled && draft.audience == "vip")
        #expect(draft.actions.map(\.id) == ["act_1", "act_2", "act_3"])
        #expect(draft.actions.map(\.type) == [.sendSMS, .sendWhatsApp, .sendEmail])
        #expect(draft.actions.map(\.trigger) == [.audienceEntered, .audienceExited, .audienceEntered])
        // A marketing SMS body gets the opt-out notice, as a template's does.
        #expect(
            draft.actions[0].content?.body == "Hi\n" + TemplateContent.stopNotice
                && draft.actions[0].content?.from == nil)
        #expect(draft.actions[2].content == nil && draft.actions[2].templateVersion == 2 && !draft.actions[2].enabled)
    }

    @Test func everyProblemIsNamedWithItsPath() {
        #expect(fields(#"{"name": "x", "audienceId": "a", "colour": 1, "actions": []}"#) == ["colour", "actions"])
        #expect(
            fields(
                """
                {"name": "x", "audienceId": "a", "actions": [
                  {"type": "send_sms", "from": "12", "body": "hi", "mediaUrl": ["https://x"]},
                  {"type": "send_fax"},
                  {"type": "send_sms", "templateId": "tpl_1", "body": "both"},
                  {"type": "send_whatsapp", "group": "g", "body": "x"},
                  {"type": "send_sms"}]}
                """
            ).sorted() == [
                "actions[0].from", "actions[0].mediaUrl", "actions[1].type", "actions[2].body", "actions[3].group",
                "actions[4]",
            ])
        #expect(
            fields(#"{"actions": [{"type": "send_email", "subject": "s", "html": "<p>no link</p>"}]}"#)
                == ["name", "audienceId", "actions[0].html"])
    }

    @Test func anActionSentBackWithItsIdKeepsIt() throws {
        let first = try parse(#"{"name": "x", "audienceId": "a", "actions": [{"type": "send_sms", "body": "hi"}]}"#)
        let again = try parse(
            #"{"name": "x", "audienceId": "a", "actions": [{"id": "act_1", "type": "send_sms", "body": "hi"}]}"#,
            existing: first.actions)
        #expect(again.actions.map(\.id) == ["act_1"])
        do {
            _ = try parse(
                #"{"name": "x", "audienceId": "a", "actions": [{"id": "act_1", "type": "send_sms", "body": "a"},"#
                    + #"{"id": "act_1", "type": "send_sms", "body": "b"}]}"#, existing: first.actions)
            Issue.record("an action id listed twice was accepted")
        } catch {
            #expect(error.problems.map(\.field) == ["actions[1].id"])
        }
        #expect(
            fields(#"{"name": "x", "audienceId": "a", "actions": [{"id": "act_9", "type": "send_sms", "body": "hi"}]}"#)
                == ["actions[0].id"])
    }

    @Test func theStoredAndShownShapeIsTheShapeTheAPITakes() throws {
        let draft = try parse(
            #"{"name": "x", "audienceId": "a", "actions": [{"type": "send_sms", "from": "54321", "body": "hi STOP"}]}"#)
        let json = try WireEncoder.encode(draft.actions[0])
        let object = try JSONParser.parse(Array(json)).objectValue ?? [:]
        #expect(object["body"] == .string("hi STOP") && object["from"] == .string("54321") && object["content"] == nil)
        #expect(try WireDecoder.decode(DestinationAction.self, from: json) == draft.actions[0])
    }

    @Test func aMessageIsTheSameForTheSameActionAndEntry() {
        let action = DestinationAction(
            id: "act_1", name: "n", type: .sendSMS, trigger: .audienceEntered, enabled: true, from: nil,
            templateId: nil, templateVersion: nil, content: TemplateContent(body: "hi"), purpose: .marketing,
            group: nil)
        let one = action.messageId(forMembershipEvent: "s:aud:p:1")
        #expect(
            one == action.messageId(forMembershipEvent: "s:aud:p:1")
                && one != action.messageId(forMembershipEvent: "s:aud:p:2"))
        #expect(one.hasPrefix("dst_") && one.count == 36)
        let message = action.message(
            spaceId: "s", destinationId: "d", profileId: "p", membershipEventId: "s:aud:p:1", now: Date())
        #expect(message.request.id == one && message.content?.body == "hi" && message.actionId == "act_1")
    }

    @Test func templateContentRefusesUnknownFieldsByName() {
        do {
            _ = try TemplateContent.strict(.object(["body": "x", "mediaUrl": .array([])]))
            Issue.record("an unknown field was accepted")
        } catch {
            #expect(error.problems.map(\.field) == ["content.mediaUrl"])
            #expect(error.problems[0].reason.contains("did you mean mediaUrls?"))
        }
    }

    @Test func messageCursorsRoundTrip() throws {
        let at = Date(timeIntervalSince1970: 1_780_000_000.123456)
        let cursor = MessageCursor(requestedAt: at, id: "msg_1|x")
        let decoded = try #require(MessageCursor(cursor.text))
        #expect(decoded == cursor && decoded.micros == 1_780_000_000_123_456 && decoded.id == "msg_1|x")
        #expect(MessageCursor("garbage!") == nil)
    }
}
