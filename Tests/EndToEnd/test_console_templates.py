"""The templates screen in a real browser against the real services: an email written in the
CodeMirror editor with its live preview (typed content, a render error marked at its line, a
profile's traits), saved, edited into a second version, and test-sent to the SendGrid fake."""
import re
import uuid

from playwright.sync_api import expect

from console_helpers import sign_in
from engage_harness import wait_for
from messaging_helpers import MessagingSpace

BODY = '<h1>Hello {{profile.traits.first_name | default: "friend"}}</h1>\n<p><a href="{{unsubscribe_link}}">Unsubscribe</a></p>'


def type_in_editor(page, text):
    """Replaces the HTML editor's content by typing, as a person would."""
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)


def test_an_email_template_is_written_with_a_live_preview_and_test_sent(console, page, profiles, subscriptions, messaging,
                                                                        fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    email = f"ada-{uuid.uuid4().hex[:8]}@shop.example"
    ms.person("Ada", email=email)  # first_name Ada; returns once messaging-send knows her
    sign_in(page, console, ms.space)

    page.goto(console.url + "/templates")
    # (ms.person made an SMS probe template.)
    page.get_by_role("link", name="Email", exact=True).click()
    expect(page.get_by_text("No Email templates yet.")).to_be_visible()
    page.get_by_role("link", name="New Email template").click()
    page.get_by_label("Name", exact=True).fill("Welcome")
    page.get_by_label("Subject", exact=True).fill('Welcome, {{profile.traits.first_name | default: "friend"}}')

    # Typing in the editor updates the preview, rendered in a sandboxed frame.
    type_in_editor(page, BODY)
    preview = page.frame_locator("iframe[title='Email preview']")
    expect(preview.locator("h1")).to_have_text("Hello friend")
    expect(page.locator("#preview-subject")).to_have_text("Welcome, friend")
    assert page.locator("iframe[title='Email preview']").get_attribute("sandbox") == ""
    page.keyboard.type("\n<p>See you soon</p>")
    expect(preview.get_by_text("See you soon")).to_be_visible()

    # A merge-tag error is shown at its line and the line is marked in the editor.
    page.keyboard.type("\n{% frobnicate %}")
    expect(page.locator("#preview-problems")).to_contain_text(re.compile(r"HTML body: line 4, column \d+: .*frobnicate"))
    expect(page.locator(".CodeMirror .cm-render-error")).to_have_count(1)
    type_in_editor(page, BODY + "\n<p>See you soon</p>")
    expect(page.locator(".CodeMirror .cm-render-error")).to_have_count(0)
    expect(page.locator("#preview-problems")).to_be_hidden()

    # A profile's traits fill the merge tags; typed traits override them.
    page.get_by_label("Profile", exact=True).fill(email)
    page.get_by_label("Profile", exact=True).press("Enter")
    expect(preview.locator("h1")).to_have_text("Hello Ada")
    expect(page.locator("#preview-subject")).to_have_text("Welcome, Ada")
    expect(page.locator("#preview-status")).to_have_text(f"Preview for email:{email}.")
    page.get_by_label("Traits (optional)").fill("first_name=Grace")
    expect(preview.locator("h1")).to_have_text("Hello Grace")
    page.get_by_label("Traits (optional)").fill("")
    expect(preview.locator("h1")).to_have_text("Hello Ada")

    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("status").filter(has_text="created")).to_have_text("Template “Welcome” created as version 1.")
    expect(page).to_have_url(re.compile(r"/templates/tpl_"))
    # The saved content is back in the editor, and its versions are listed.
    expect(page.locator(".CodeMirror")).to_contain_text("See you soon")
    expect(page.get_by_role("row", name=re.compile(r"^1 "))).to_contain_text("current")

    # An edit is a new version.
    page.get_by_label("Subject", exact=True).fill('Welcome aboard, {{profile.traits.first_name | default: "friend"}}')
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    expect(page.get_by_role("link", name="Version 1")).to_be_visible()

    # Test send to Ada: the message's state settles on the page, and SendGrid got her version.
    page.get_by_label("Send a test to").fill(email)
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_text(f"Test send queued for email:{email}.")).to_be_visible()
    expect(page.locator("#test-send-badge")).to_have_text("sent", timeout=30000)
    expect(page.locator("#test-send-detail")).to_contain_text(f"to {email}")
    mails = wait_for(lambda: fakes.requests("sendgrid", space_id=ms.id), what="the test mail at the SendGrid fake")
    assert len(mails) == 1
    mail = mails[0]["body"]
    assert mail["personalizations"][0]["to"] == [{"email": email}]
    assert mail["subject"] == "Welcome aboard, Ada"
    html = [c["value"] for c in mail["content"] if c["type"] == "text/html"][0]
    assert "<h1>Hello Ada</h1>" in html and "See you soon" in html
    assert "engage-test" in mail["categories"]

    page.get_by_role("link", name="← Templates").click()
    row = page.get_by_role("row", name=re.compile("Welcome"))
    expect(row).to_contain_text("Email")
    expect(row).to_contain_text("marketing")
    expect(row.get_by_role("cell").nth(3)).to_have_text("2")


def test_a_refused_save_keeps_what_was_typed_and_the_screen_fits_a_phone(console, page, profiles, subscriptions, messaging,
                                                                        fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    sign_in(page, console, ms.space)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(console.url + "/templates")
    expect(page.get_by_text("No templates yet.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.goto(console.url + "/templates/new")
    page.get_by_role("link", name="SMS").click()
    page.get_by_label("Name", exact=True).fill("Flash")
    page.get_by_label("Message body").fill("Sale on {{ profile.traits.first_name | shout }}")
    page.get_by_label("Media URLs (optional)").fill("ftp://cdn.shop.example/a.png")
    # The preview shows the merge-tag error before anything is saved.
    expect(page.locator("#preview-problems")).to_contain_text("Unknown filter 'shout'")
    page.get_by_role("button", name="Create template").click()
    # 422: every problem listed, each beside its field, the typed values kept.
    expect(page.get_by_role("alert").first).to_contain_text("Message body: line 1")
    expect(page.locator("#mediaUrls-errors")).to_contain_text("must be an http(s) URL")
    expect(page.get_by_label("Message body")).to_have_value("Sale on {{ profile.traits.first_name | shout }}")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Flash")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.get_by_label("Message body").fill("Sale on, {{profile.traits.first_name}}")
    page.get_by_label("Media URLs (optional)").fill("https://cdn.shop.example/a.png")
    page.get_by_label("Traits (optional)").fill('{"first_name": "Ada"}')
    expect(page.locator("#preview-body")).to_have_text("Sale on, Ada\nReply STOP to unsubscribe.")
    expect(page.locator("#preview-media")).to_have_text("Media: https://cdn.shop.example/a.png")
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_text("Template “Flash” created as version 1.")).to_be_visible()
    expect(page.get_by_label("Message body")).to_have_value("Sale on, {{profile.traits.first_name}}\nReply STOP to unsubscribe.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
