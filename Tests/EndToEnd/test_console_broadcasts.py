"""The broadcasts screen in a real browser against the real services: a broadcast of an email
template to an audience, chosen by name, with its estimate and a throttle, watched until it is done
with the right counts; and a scheduled one, cancelled."""
import datetime
import re
import uuid

from playwright.sync_api import expect

from console_helpers import sign_in
from engage_harness import psql, wait_for
from journeys_helpers import JourneySpace, audience


def test_a_broadcast_runs_to_done_with_the_right_counts(console, page, profiles, subscriptions, messaging, fakes, journeys,
                                                        audiences):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys, audiences)
    js.template("EMAIL", "Spring sale", {"subject": "Spring sale, {{profile.traits.first_name}}",
                                         "html": '<p>Sale</p><a href="{{unsubscribe_link}}">Unsubscribe</a>'})
    js.template("SMS", "Sale text", {"body": "Sale today"})
    tag = uuid.uuid4().hex[:6]
    subscribed = {}
    for index in range(3):
        email = f"gold{index}-{tag}@shop.example"
        _, pid = js.user(f"Gold{index}", email=email, plan="gold")
        subscribed[pid] = email
    js.user("Quiet", email=f"quiet-{tag}@shop.example", plan="gold")  # never subscribed: skipped
    js.user("Basic", email=f"basic-{tag}@shop.example", plan="basic")  # not in the audience
    js.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"} for email in subscribed.values()])
    key = f"gold_{tag}"
    audience(js, key, {"type": "trait", "trait": "plan", "operator": "equals", "value": "gold"})
    # The audience reaches journeys on engage.audiences, and the consent states reach messaging.
    wait_for(lambda: (r := js.jget(f"/broadcasts/estimate?audienceId={key}")).status_code == 200
             and r.json()["data"]["recipients"] == 4, timeout=60, what="the audience to reach journeys")
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{js.id}'")[0][0] == "3",
             what="subscription states to reach messaging")

    sign_in(page, console, js.space)
    page.goto(console.url + "/broadcasts")
    expect(page.get_by_text("No broadcasts yet.")).to_be_visible()
    page.get_by_role("link", name="New broadcast").first.click()
    page.get_by_label("Name", exact=True).fill("Spring sale")
    page.get_by_label("Audience", exact=True).select_option(label=key)
    expect(page.locator("#broadcast-estimate")).to_have_text(
        f"Estimate: 4 profiles in {key} would receive it if it started now.")
    # Only the channel's templates are offered.
    assert page.locator("#templateId optgroup[data-channel=SMS]").evaluate("group => group.hidden && group.disabled")
    page.get_by_label("Template", exact=True).select_option(label="Spring sale (marketing)")
    page.get_by_label("Throttle (messages a minute, optional)").fill("120")
    page.get_by_role("button", name="Create broadcast").click()

    expect(page.get_by_text("Broadcast “Spring sale” started.")).to_be_visible()
    progress = page.locator("#broadcast-progress")
    expect(progress.locator('[data-progress="stateLabel"]')).to_have_text("Done", timeout=60000)
    expect(progress.locator('[data-progress="recipients"]')).to_have_text("4")
    expect(progress.locator('[data-progress="requested"]')).to_have_text("4")
    expect(progress.locator('[data-outcome="sent"]')).to_have_text("3")
    expect(progress.locator('[data-outcome="skipped"]')).to_have_text("1")
    expect(progress.locator('[data-outcome="failed"]')).to_have_text("0")
    expect(page.get_by_role("button", name="Cancel broadcast")).to_be_hidden()
    mails = fakes.requests("sendgrid", space_id=js.id)
    assert sorted(m["recipient"] for m in mails) == sorted(subscribed.values())
    assert {m["body"]["subject"] for m in mails} == {f"Spring sale, Gold{i}" for i in range(3)}

    page.get_by_role("link", name="← Broadcasts").click()
    row = page.get_by_role("row", name=re.compile("Spring sale"))
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text(key)
    expect(row).to_contain_text("4 of 4")


def test_a_scheduled_broadcast_can_be_cancelled(console, page, profiles, subscriptions, messaging, fakes, journeys, audiences):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys, audiences)
    js.template("EMAIL", "Tomorrow", {"subject": "Soon", "html": '<p>Soon</p><a href="{{unsubscribe_link}}">Unsubscribe</a>'})
    key = f"later_{uuid.uuid4().hex[:6]}"
    audience(js, key, {"type": "trait", "trait": "plan", "operator": "equals", "value": "gold"})
    wait_for(lambda: js.jget(f"/broadcasts/estimate?audienceId={key}").status_code == 200, timeout=60,
             what="the audience to reach journeys")
    sign_in(page, console, js.space)
    page.goto(console.url + "/broadcasts/new")
    # A refused form keeps what was typed: no name, and a time left out.
    page.get_by_label("Audience", exact=True).select_option(label=key)
    page.get_by_label("Template", exact=True).select_option(label="Tomorrow (marketing)")
    page.get_by_label("Send at a set time").check()
    page.get_by_label("Name", exact=True).evaluate("element => element.removeAttribute('required')")
    page.get_by_role("button", name="Create broadcast").click()
    expect(page.locator("#name-error")).to_have_text("Give the broadcast a name.")
    expect(page.locator("#scheduledAt-error")).to_have_text("Give the date and time to send at.")
    expect(page.get_by_label("Send at a set time")).to_be_checked()
    expect(page.get_by_label("Audience", exact=True)).to_have_value(re.compile(r"^aud_"))

    page.get_by_label("Name", exact=True).fill("Next year")
    next_year = datetime.datetime.now().year + 1
    page.get_by_label("Date and time").fill(f"{next_year}-01-15T09:30")
    page.get_by_role("button", name="Create broadcast").click()
    expect(page.get_by_text(re.compile(rf"Broadcast “Next year” scheduled for {next_year}-01-1[45] "))).to_be_visible()
    expect(page.locator('[data-progress="stateLabel"]')).to_have_text("Scheduled")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel broadcast").click()
    expect(page.get_by_text("Broadcast cancelled. 0 messages were requested before it stopped.")).to_be_visible()
    expect(page.locator('[data-progress="stateLabel"]')).to_have_text("Cancelled")
