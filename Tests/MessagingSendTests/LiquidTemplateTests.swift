import Contracts
import Foundation
import Persistence
import Testing

@testable import MessagingSendCore

@Suite struct LiquidTemplateTests {
    let ada = MergeContext(
        profile: ProfileSnapshot(
            profileId: "p1", userId: "u1", email: "ada@example.com", phone: "+14155550100",
            traits: ["first_name": "Ada", "visits": 3, "vip": true, "empty": ""]),
        links: ["unsubscribe_link": "https://x/u/t", "manage_preferences_link": "https://x/u/t?manage=1"])

    @Test func mergeTagsInTheLiquidStyle() throws {
        let values = ada.values
        #expect(
            try LiquidTemplates.render(
                "Hi {{profile.traits.first_name | default: \"there\"}}", field: "s", context: values) == "Hi Ada")
        #expect(
            try LiquidTemplates.render("{{ profile.traits.missing | default: \"there\" }}", field: "s", context: values)
                == "there")
        #expect(
            try LiquidTemplates.render("{{profile.traits.empty | default:\"there\"}}", field: "s", context: values)
                == "there")
        #expect(
            try LiquidTemplates.render(
                "{{profile.traits.visits}} {{profile.email}} {{profile.user_id}}", field: "s", context: values)
                == "3 ada@example.com u1")
        #expect(
            try LiquidTemplates.render(
                "{{profile.traits.first_name | upcase}}{{profile.traits.first_name | downcase}}", field: "s",
                context: values) == "ADAada")
        #expect(
            try LiquidTemplates.render("{% if profile.traits.vip %}VIP{% endif %}", field: "s", context: values)
                == "VIP")
        #expect(
            try LiquidTemplates.render("<a href=\"{{unsubscribe_link}}\">", field: "s", context: values)
                == "<a href=\"https://x/u/t\">")
        #expect(
            try LiquidTemplates.render(
                "{{profile.traits.first_name | escape}}", field: "s",
                context: MergeContext(
                    profile: ProfileSnapshot(profileId: "p", traits: ["first_name": "<b>"]), links: [:]
                ).values)
                == "&lt;b&gt;")
    }

    @Test func nestedTraitsArraysAndWholeObjects() throws {
        let profile = ProfileSnapshot(
            profileId: "p",
            traits: [
                "address": .object(["city": "Oslo", "zip": .null]), "tags": .array(["gold", "early"]),
                "orders": .array([.object(["sku": "A1"]), .object(["sku": "B2"])]),
            ])
        let values = MergeContext(profile: profile, links: [:]).values
        #expect(
            try LiquidTemplates.render(
                "{{profile.traits.address.city}}|{{profile.traits.address.zip | default: \"-\"}}", field: "s",
                context: values) == "Oslo|-")
        #expect(
            try LiquidTemplates.render(
                "{{profile.traits.tags.first}} {{profile.traits.tags.count}} {{profile.traits.orders.1.sku}}",
                field: "s",
                context: values) == "gold 2 B2")
        #expect(
            try LiquidTemplates.render(
                "{% for order in profile.traits.orders %}[{{order.sku}}]{% endfor %}", field: "s",
                context: values) == "[A1][B2]")
        #expect(
            try LiquidTemplates.render("{{profile.traits.address}}", field: "s", context: values)
                == #"{"city":"Oslo","zip":null}"#
                || LiquidTemplates.render("{{profile.traits.address}}", field: "s", context: values)
                    == #"{"zip":null,"city":"Oslo"}"#
        )
        #expect(
            try LiquidTemplates.render(
                "{{profile.traits.nothing.deeper | default: \"none\"}}", field: "s", context: values) == "none")
    }

    @Test func largeIntegerTraitsRenderExactly() throws {
        // Traits reach the replica through the profile-updates topic (JSONDecoder) and are read back with JSONParser.
        let json = #"{"order_id":9007199254740993,"account":-12345678901234567890123,"price":9.99,"visits":3}"#
        let update = try WireDecoder.decode([String: JSONValue].self, from: json.utf8)
        let stored = try JSONParser.parse(Array(JSONValue.object(update).json.utf8))
        #expect(stored == .object(update))
        let values = MergeContext(
            profile: ProfileSnapshot(profileId: "p", traits: try #require(stored.objectValue)), links: [:]
        ).values
        #expect(
            try LiquidTemplates.render(
                "{{profile.traits.order_id}} {{profile.traits.account}} {{profile.traits.price}} {{profile.traits.visits}}",
                field: "s", context: values) == "9007199254740993 -12345678901234567890123 9.99 3")
        #expect(
            try LiquidTemplates.render("{{profile.traits.order_id | default: \"none\"}}", field: "s", context: values)
                == "9007199254740993")
        let computed = MergeContext(
            profile: ProfileSnapshot(profileId: "p", traits: ["total": .number(1e20)]), links: [:]
        ).values
        #expect(
            try LiquidTemplates.render("{{profile.traits.total}}", field: "s", context: computed)
                == "100000000000000000000")
    }

    @Test func aParsedTextRendersEachContextOnItsOwnConcurrently() async throws {
        let source = "Hi {{profile.traits.first_name | upcase}}{% if profile.traits.vip %}!{% endif %}"
        let names = (0..<200).map { "name\($0)" }
        let rendered = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for name in names {
                group.addTask {
                    let context = MergeContext(
                        profile: ProfileSnapshot(
                            profileId: name, traits: ["first_name": .string(name), "vip": .bool(name.hasSuffix("7"))]),
                        links: [:])
                    return (name, try LiquidTemplates.render(source, field: "s", context: context.values))
                }
            }
            var all: [String: String] = [:]
            for try await (name, text) in group { all[name] = text }
            return all
        }
        for name in names { #expect(rendered[name] == "Hi \(name.uppercased())" + (name.hasSuffix("7") ? "!" : "")) }
    }

    @Test func theParsedTextCacheIsBoundedByTheBytesItHolds() throws {
        let cache = ParsedTemplates(capacityBytes: 100)
        let environment = LiquidTemplates.environment
        for index in 0..<10 {
            _ = try cache.nodes("{{ profile.traits.t\(index) }} ..........", environment: environment)
        }
        #expect(cache.count <= 3)  // 30-odd bytes each
        _ = try cache.nodes("{{ profile.id }}", environment: environment)
        _ = try cache.nodes("{{ profile.id }}", environment: environment)
        #expect(cache.count >= 1)
        #expect(throws: (any Error).self) { try cache.nodes("{{ x | shout }}", environment: environment) }
    }

    @Test func unknownFiltersAndTagsAreRefusedWithTheirPosition() {
        #expect(throws: TemplateProblem.self) { try LiquidTemplates.check("{{ x | shout }}", field: "subject") }
        do {
            try LiquidTemplates.check("line one\n  {% frobnicate %}", field: "html")
            Issue.record("an unknown tag must be refused")
        } catch {
            #expect(error.field == "html")
            #expect(error.line == 2)
            #expect(error.column == 6)  // the tag name's column
            #expect(error.reason.contains("frobnicate"))
        }
        #expect(throws: TemplateProblem.self) { try LiquidTemplates.check("{% if x %}never closed", field: "body") }
    }

    @Test func marketingEmailNeedsAnUnsubscribeOptionAndSMSGetsTheStopNotice() throws {
        let email = TemplateContent(subject: "Hi", html: "<p>Hello</p>")
        #expect(throws: TemplateProblems.self) { try email.validated(channel: .email, purpose: .marketing) }
        _ = try email.validated(channel: .email, purpose: .transactional)
        _ = try TemplateContent(subject: "Hi", html: "<a href=\"{{ manage_preferences_link }}\">prefs</a>").validated(
            channel: .email, purpose: .marketing)

        let sms = try TemplateContent(body: "Sale today").validated(channel: .sms, purpose: .marketing)
        #expect(sms.body == "Sale today\nReply STOP to unsubscribe.")
        let already = try TemplateContent(body: "Sale. Text stop to opt out").validated(
            channel: .sms, purpose: .marketing)
        #expect(already.body == "Sale. Text stop to opt out")
        #expect(try TemplateContent(body: "Code 1").validated(channel: .sms, purpose: .transactional).body == "Code 1")
    }

    @Test func whatsappContentTemplatesAndEveryProblemAtOnce() throws {
        let content = TemplateContent(
            contentSid: "HX" + String(repeating: "a", count: 32),
            contentVariables: ["1": "{{profile.traits.first_name}}"])
        let rendered = try content.validated(channel: .whatsapp, purpose: .marketing).render(ada)
        #expect(rendered.contentVariables == ["1": "Ada"])
        do {
            _ = try TemplateContent(subject: "x", body: String(repeating: "a", count: 1_601), mediaUrls: ["ftp://x"])
                .validated(channel: .sms, purpose: .transactional)
            Issue.record("expected problems")
        } catch {
            #expect(Set(error.problems.map(\.field)) == ["subject", "body", "mediaUrls[0]"])
        }
    }
}
