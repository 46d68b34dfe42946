"""Channels in the console: SendGrid and Twilio set up as in Engage's onboarding, with the webhook URLs
to paste, and the send policy."""
import requests
from playwright.sync_api import expect

from console_helpers import new_space, sign_in
from messaging_helpers import SENDGRID_KEY, TWILIO


def test_providers_are_verified_saved_and_show_the_webhook_urls(console, page, profiles, messaging, fakes):
    space = new_space(profiles, messaging)
    sign_in(page, console, space)
    page.get_by_role("link", name="Channels").click()
    sendgrid = page.locator("section", has=page.get_by_role("heading", name="SendGrid"))
    expect(sendgrid.get_by_text("not connected")).to_be_visible()
    expect(page.get_by_label("Event Webhook URL")).to_have_count(0)

    # A wrong key: the provider's refusal is shown, nothing is saved.
    sendgrid.get_by_label("API key").fill("SG.wrong")
    sendgrid.get_by_label("From address").fill("news@shop.example")
    sendgrid.get_by_text("Advanced").click()
    sendgrid.get_by_label("API base URL").fill(fakes.url)
    sendgrid.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert requests.get(f"{messaging.url}/spaces/{space.id}/messaging/providers/sendgrid",
                        headers={"Authorization": f"Bearer {space.token}"}).status_code == 404
    # The typed settings (not the key) are still in the form.
    expect(sendgrid.get_by_label("From address")).to_have_value("news@shop.example")

    sendgrid.get_by_label("API key").fill(SENDGRID_KEY)
    sendgrid.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_text("SendGrid accepted these settings")).to_be_visible()
    sendgrid.get_by_role("button", name="Verify and save").click()
    expect(page.get_by_role("status")).to_have_text("SendGrid verified and saved.")
    webhook = page.get_by_label("Event Webhook URL")
    expect(webhook).to_have_value(f"{messaging.url}/webhooks/sendgrid/{space.id}")
    page.locator("[data-copy=sendgrid-webhook]").click()
    expect(page.locator("[data-copy=sendgrid-webhook]")).to_have_text("Copied")
    saved = requests.get(f"{messaging.url}/spaces/{space.id}/messaging/providers/sendgrid",
                         headers={"Authorization": f"Bearer {space.token}"}).json()["data"]
    assert saved["settings"]["fromAddress"] == "news@shop.example"
    assert saved["settings"]["baseUrl"] == fakes.url

    # Twilio: without the auth token the console says callbacks will be refused; with it, both URLs.
    twilio = page.locator("section", has=page.get_by_role("heading", name="Twilio"))
    twilio.get_by_label("Account SID").fill(TWILIO["accountSid"])
    twilio.get_by_label("API key SID").fill(TWILIO["apiKeySid"])
    twilio.get_by_label("API key secret").fill(TWILIO["apiKeySecret"])
    twilio.get_by_label("From number").fill("+14155550000")
    twilio.get_by_text("Advanced").click()
    twilio.get_by_label("Twilio hostname").fill(fakes.url)
    twilio.get_by_role("button", name="Verify and save").click()
    expect(page.get_by_role("status")).to_have_text("Twilio verified and saved.")
    expect(page.get_by_text("Without the account's auth token")).to_be_visible()
    expect(page.get_by_label("Delivery status callback URL")).to_have_value(
        f"{messaging.url}/webhooks/twilio/{space.id}/status")
    expect(page.get_by_label("Incoming messages URL")).to_have_value(
        f"{messaging.url}/webhooks/twilio/{space.id}/inbound")
    # Editing without re-entering the secret keeps it (the API keeps a stored secret).
    twilio = page.locator("section", has=page.get_by_role("heading", name="Twilio"))
    twilio.get_by_label("Auth token (signs callbacks)").fill(TWILIO["authToken"])
    twilio.get_by_role("button", name="Verify and save").click()
    expect(page.get_by_text("Without the account's auth token")).to_have_count(0)

    # The send policy.
    page.get_by_label("At most this many messages per person").fill("3")
    page.get_by_label("in any period of days").fill("7")
    page.get_by_label("Quiet hours from").fill("21:00")
    page.get_by_label("until").fill("08:00")
    page.get_by_role("button", name="Save send policy").click()
    expect(page.get_by_role("status")).to_have_text("Send policy saved.")
    policy = requests.get(f"{messaging.url}/spaces/{space.id}/messaging/send-policy",
                          headers={"Authorization": f"Bearer {space.token}"}).json()["data"]
    assert policy["frequencyCap"] == {"messages": 3, "windowSeconds": 604800}
    assert policy["quietHours"]["start"] == "21:00" and policy["quietHours"]["end"] == "08:00"
    expect(page.get_by_label("At most this many messages per person")).to_have_value("3")
