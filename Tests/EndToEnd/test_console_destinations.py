"""Webhook destinations in the console: create with the secret shown once, a failing endpoint pausing
the destination with its reason, resume, the delivery log, secret rotation and replay."""
import datetime
import re

from playwright.sync_api import expect

from console_helpers import new_space, sign_in
from engage_harness import wait_for
from events_source_helpers import Producer, WebhookReceiver, message_event, new_id


def emit(space, profile, count, label):
    producer = Producer()
    message = new_id("msg")
    for index in range(count):
        producer.send("engage.message-events", profile,
                      message_event(space.id, "Email Opened", message, profile, "p@example.com", suffix=f"{label}{index}"))
    producer.flush()


def test_a_webhook_destination_is_created_paused_by_failures_resumed_rotated_and_replayed(
        console, page, profiles, events_source):
    space = new_space(profiles, events_source)
    receiver = WebhookReceiver()
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        sign_in(page, console, space)
        page.get_by_role("link", name="Destinations").click()
        expect(page.get_by_text("No webhook destinations yet")).to_be_visible()

        # A URL into the service's own network is refused with the API's reason; the typed form stays.
        page.get_by_label("Name").fill("Warehouse")
        page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data/")
        page.get_by_label("Events").fill("Email *")
        page.get_by_role("button", name="Add destination").click()
        expect(page.get_by_role("alert")).to_contain_text("url")
        expect(page.get_by_label("Name")).to_have_value("Warehouse")

        page.get_by_label("URL").fill(receiver.url)
        page.get_by_role("button", name="Add destination").click()
        secret = page.get_by_label("Signing secret").input_value()
        assert secret.startswith("whsec_")
        receiver.secret = secret
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", name=re.compile("Warehouse"))).to_be_visible()

        # The endpoint is down: after the allowed attempts the destination pauses and says why.
        started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
        receiver.down = True
        person = new_id("ann")
        emit(space, person, 3, "first")
        wait_for(lambda: page.reload() and page.get_by_text("Paused: delivery of").count() > 0, timeout=60,
                 interval=1, what="the destination to pause")
        expect(page.get_by_role("alert")).to_contain_text("HTTP 503")

        # Resumed, every queued event goes out, in order, and the log shows them delivered.
        receiver.down = False
        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_role("status")).to_contain_text("Destination resumed")
        wait_for(lambda: len(receiver.accepted) >= 3, timeout=60, what="the queued deliveries")
        page.get_by_role("link", name="Delivered", exact=True).click()
        expect(page.get_by_role("row", name=re.compile("Email Opened"))).to_have_count(3)

        # A rotated secret signs what comes next.
        page.get_by_role("button", name="Rotate signing secret").click()
        rotated = page.get_by_label("Signing secret").input_value()
        assert rotated.startswith("whsec_") and rotated != secret
        receiver.secret = rotated
        page.get_by_role("link", name="Done").click()
        emit(space, person, 1, "after-rotation")
        wait_for(lambda: len(receiver.accepted) >= 4, timeout=60, what="a delivery signed with the new secret")
        assert all(ok for (_, status, ok, _) in receiver.attempts if status == 200)

        # Replay of everything since the start queues the delivered events again.
        page.get_by_label("From (UTC)").fill(started.strftime("%Y-%m-%dT%H:%M:%S"))
        page.get_by_role("button", name="Replay").click()
        expect(page.get_by_role("status")).to_have_text("Replay queued 4 events.")
        wait_for(lambda: len(receiver.accepted) >= 8, timeout=60, what="the replayed deliveries")
    finally:
        receiver.close()
