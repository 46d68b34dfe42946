import Foundation
import Testing

@testable import ConsoleCore

/// The forms' translation into API bodies: what a person types is what the API receives.
@Suite struct ConsoleFormTests {
    @Test func providerFormLeavesBlankSecretsOutSoTheStoredOnesAreKept() {
        let form = FormFields([
            ("apiKey", ""), ("fromAddress", " news@shop.example "), ("messagesPerSecond", "12.5"),
            ("asmGroups", "42 = Newsletter\n\n7=Offers\nnot a pair"), ("allowUnsignedEvents", "on"),
        ])
        let body = ChannelProvider.sendgrid.body(form)
        #expect(body["apiKey"] == nil)
        #expect(body["fromAddress"] as? String == "news@shop.example")
        #expect(body["messagesPerSecond"] as? Double == 12.5)
        #expect(body["asmGroups"] as? [String: String] == ["42": "Newsletter", "7": "Offers"])
        #expect(body["allowUnsignedEvents"] as? Bool == true)
        #expect(ChannelProvider.sendgrid.body(FormFields())["allowUnsignedEvents"] as? Bool == false)
    }

    @Test func providerViewNeverCarriesSecretsAndShowsTheURLsToPaste() {
        let view = ChannelProvider.twilio.view(configured: [
            "settings": ["accountSid": "AC1", "fromNumber": "+1555"], "authTokenConfigured": false,
            "statusCallbackUrl": "https://engage.example/webhooks/twilio/spa_1/status",
        ])
        #expect(view["configured"] as? Bool == true)
        #expect(view["accountSid"] as? String == "AC1")
        #expect(view["apiKeySecret"] == nil && view["authToken"] == nil)
        #expect(view["statusCallbackUrl"] as? String == "https://engage.example/webhooks/twilio/spa_1/status")
        #expect(view["authTokenMissing"] as? Bool == true)
        #expect(ChannelProvider.twilio.view(configured: nil)["authTokenMissing"] as? Bool == false)
    }

    @Test func destinationEventsAreNamesOrPrefixesOnePerLineOrCommaSeparated() {
        #expect(
            DestinationsScreen.events(FormFields([("events", "Email *\nSMS Delivered, Audience Entered\n")])) == [
                "Email *", "SMS Delivered", "Audience Entered",
            ])
        #expect(DestinationsScreen.events(FormFields([("events", " \n ")])) == nil)
    }

    @Test func replayTimesFromTheBrowsersPickerAreUTC() {
        #expect(DestinationsScreen.isoTime("2026-12-06T10:15") == "2026-12-06T10:15:00Z")
        #expect(DestinationsScreen.isoTime("2026-12-06T10:15:30") == "2026-12-06T10:15:30Z")
        #expect(DestinationsScreen.isoTime("") == nil)
    }
}
