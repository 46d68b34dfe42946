import Contracts
import Testing

@Suite struct ContactNormalizerTests {
    @Test func emailsAreTrimmedAndLowerCased() throws {
        #expect(try ContactNormalizer.email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com")
        #expect(try ContactNormalizer.email("\u{FEFF}x+tag@sub.example.co.uk") == "x+tag@sub.example.co.uk")
    }

    @Test(arguments: [
        "", "plain", "a@b", "a@@b.com", "a b@c.com", ".a@b.com", "a..b@c.com", "a@-b.com", "a@b..com", "a@b.123",
        "a@b_c.com",
    ])
    func invalidEmailsAreRefusedWithAReason(_ raw: String) {
        #expect(throws: InvalidContact.self) { try ContactNormalizer.email(raw) }
    }

    @Test func phonesBecomeE164() throws {
        #expect(try ContactNormalizer.phone("+1 (415) 555-0100") == "+14155550100")
        #expect(try ContactNormalizer.phone("0044 20 7946 0018") == "+442079460018")
        #expect(try ContactNormalizer.phone("whatsapp:+4915112345678") == "+4915112345678")
        #expect(try ContactNormalizer.phone("+33.6.12.34.56.78") == "+33612345678")
    }

    @Test(arguments: [
        "", "4155550100", "+0441234567", "+1234567", "+1234567890123456", "+1 415 CALL NOW", "++14155550100",
        "+1415555010x",
    ])
    func invalidPhonesAreRefused(_ raw: String) {
        #expect(throws: InvalidContact.self) { try ContactNormalizer.phone(raw) }
    }

    @Test func theReasonNamesTheProblem() {
        do {
            _ = try ContactNormalizer.phone("4155550100")
            Issue.record("accepted a number without a country code")
        } catch {
            #expect(error.reason.contains("international prefix"))
        }
    }

    @Test func statusesAndChannelsParseLoosely() {
        #expect(SubscriptionStatus(loose: "SUBSCRIBED") == .subscribed)
        #expect(SubscriptionStatus(loose: "did-not-subscribe") == .didNotSubscribe)
        #expect(SubscriptionStatus(loose: " Did Not Subscribe ") == .didNotSubscribe)
        #expect(SubscriptionStatus(loose: "yes") == nil)
        #expect(SubscriptionChannel(loose: "whatsapp") == .whatsapp)
    }
}
