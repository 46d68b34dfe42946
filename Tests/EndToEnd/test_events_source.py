"""The Engage Events Source with real processes: Segment track events on engage.source-events read
by an independent Kafka client, signed webhooks to a local receiver, and message analytics."""
import datetime
import hashlib
import json
import random
import re
import time
import uuid

import requests

from engage_harness import Space, ServiceProcess, bearer, produce, psql, topic_records, wait_for, wait_for_token
from events_source_helpers import Producer, WebhookReceiver, iso, message_event, new_id, source_events, wait_for_events_source
from messaging_helpers import MessagingSpace, sendgrid_post
from conftest import events_source_env

UNSUB_HTML = "<p>Hi</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>"


def api(events_source, space, method, path, body=None, **params):
    return requests.request(method, f"{events_source.url}/spaces/{space.id}{path}", json=body, params=params, headers=bearer(space.token))


def test_messages_and_consent_changes_become_segment_track_events(profiles, subscriptions, messaging, fakes, events_source):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    wait_for_events_source(events_source, ms.space)
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    person = ms.person("Ada", email=email)
    # The events source names people from its own replica of profile updates.
    wait_for(lambda: psql(f"SELECT user_id FROM events_source.profiles WHERE space_id = '{ms.id}' AND email = '{email}'"),
             what="the profile to reach the events source")
    ms.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED", "groups": [{"name": "Newsletter", "status": "SUBSCRIBED"}]}])
    wait_for(lambda: len(psql(f"SELECT 1 FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'")) == 2, what="states")
    template = ms.template("EMAIL", "News", {"subject": "News", "html": UNSUB_HTML})
    message = ms.send(person, "EMAIL", template, group="Newsletter")
    sent = ms.wait_state(message, "sent")
    base = {"email": email, "timestamp": int(time.time()), "sg_message_id": sent["providerMessageId"] + ".filter.1",
            "engage_message_id": message, "engage_space_id": ms.id}
    assert sendgrid_post(f"{messaging.url}/webhooks/sendgrid/{ms.id}", [
        {**base, "event": "delivered", "sg_event_id": "ev-" + uuid.uuid4().hex},
        {**base, "event": "click", "url": "https://shop.example/sale", "sg_event_id": "ev-" + uuid.uuid4().hex},
    ], ms.private_pem).status_code == 200

    got = source_events(ms.id, expected=6, with_keys=True)
    by_name = {value["event"]: (key, value, headers) for key, value, headers in got}
    assert sorted(by_name) == ["Channel Subscription Updated", "Email Delivered", "Email Link Clicked", "Email Processed",
                               "Email Subscribed", "Group Subscription Updated"]
    assert len(got) == 6
    for key, value, headers in got:
        assert value["type"] == "track"
        assert re.fullmatch(r"engage-[0-9a-f]{32}", value["messageId"])
        assert value["userId"].startswith("Ada-")
        assert key == person, "keyed by profile so that one person's events stay ordered"
        assert headers["contract"] == "source-event/1" and headers["space-id"] == ms.id
        assert {"id": email, "type": "email", "collection": "users", "encoding": "none"} in value["context"]["externalIds"]
        assert value["context"]["traits"]["email"] == email
    assert len({value["messageId"] for _, value, _ in got}) == 6
    _, click, _ = by_name["Email Link Clicked"]
    assert click["properties"]["link_url"] == "https://shop.example/sale"
    assert click["properties"]["message_id"] == message and click["properties"]["template_id"] == template
    assert click["properties"]["channel"] == "email" and click["properties"]["provider"] == "sendgrid"
    _, group, _ = by_name["Group Subscription Updated"]
    assert group["properties"]["group_name"] == "Newsletter" and group["properties"]["subscription_status"] == "subscribed"
    assert group["properties"]["previous_subscription_status"] is None and group["properties"]["source"] == "api"
    _, channel, _ = by_name["Channel Subscription Updated"]
    assert channel["properties"]["version"] == 1 and channel["properties"]["contact"] == email

    # A redelivered message event publishes nothing new; a later one of the same person shows it was read.
    delivered = topic_records("engage.message-events", lambda e: e.get("messageId") == message and e["event"] == "Email Delivered",
                              expected=1)[0]
    produce("engage.message-events", person, delivered)
    produce("engage.message-events", person, {**delivered, "id": delivered["id"] + ":again", "event": "Email Opened"})
    again = source_events(ms.id, expected=7)
    assert sorted(e["event"] for e in again).count("Email Delivered") == 1
    assert "Email Opened" in {e["event"] for e in again}


def test_the_topic_alone_rebuilds_every_contacts_consent(profiles, subscriptions, events_source):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    wait_for_events_source(events_source, space)
    group = requests.post(f"{subscriptions.url}/spaces/{space.id}/subscription-groups", json={"name": "Weekly"}, headers=bearer(space.token))
    assert group.status_code == 201, group.text
    emails = [f"c{i}-{uuid.uuid4().hex[:4]}@example.com" for i in range(30)]
    phones = [f"+1415555{random.randint(1000, 9999)}" for _ in range(15)]
    statuses = ["SUBSCRIBED", "UNSUBSCRIBED", "DID_NOT_SUBSCRIBE"]
    rng = random.Random(7)
    for _ in range(5):
        items = []
        for email in rng.sample(emails, 20):
            item = {"key": email, "type": "EMAIL", "status": rng.choice(statuses)}
            if rng.random() < 0.5:
                item["groups"] = [{"name": "Weekly", "status": rng.choice(statuses[:2])}]
            items.append(item)
        for phone in rng.sample(phones, 10):
            items.append({"key": phone, "type": rng.choice(["SMS", "WHATSAPP"]), "status": rng.choice(statuses)})
        response = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", json={"subscriptions": items},
                                headers=bearer(space.token))
        assert response.status_code == 200, response.text

    # The truth, from the subscriptions service.
    truth = {}
    for key in emails + phones:
        response = requests.get(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", params={"key": key},
                                headers=bearer(space.token))
        assert response.status_code == 200, response.text
        for channel in response.json()["data"]["channels"]:
            if channel["status"] is not None:
                truth[(channel["type"].lower(), key, None)] = channel["status"]
            for g in channel.get("groups") or []:
                truth[(channel["type"].lower(), key, g["name"])] = g["status"]

    # The downstream tool: keep the highest version per state, from the topic alone.
    def rebuilt():
        events = source_events(space.id, match=lambda e: e["event"].endswith("Subscription Updated"), timeout=30)
        state = {}
        for event in events:
            p = event["properties"]
            key = (p["channel"], p["contact"], p.get("group_name"))
            if key not in state or p["version"] > state[key][0]:
                state[key] = (p["version"], p["subscription_status"])
        return {key: status for key, (_, status) in state.items()}
    state = wait_for(lambda: (s := rebuilt()) == truth and s, timeout=90, interval=1, what="the rebuilt consent state to match")
    assert len(state) == len(truth) and len(truth) > 30


def test_consent_set_before_identify_names_the_contact_only_as_an_external_id(profiles, subscriptions, events_source):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    wait_for_events_source(events_source, space)
    email = f"early-{uuid.uuid4().hex[:6]}@example.com"

    def consent(status):
        items = [{"key": email, "type": "EMAIL", "status": status}]
        response = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions",
                                json={"subscriptions": items}, headers=bearer(space.token))
        assert response.status_code == 200, response.text

    def of_contact(expected):
        return source_events(space.id, expected=expected, match=lambda e: e["properties"].get("contact") == email)

    def external_id(value, kind):
        return {"id": value, "type": kind, "collection": "users", "encoding": "none"}

    # Nobody with this address is known yet: no userId, and the address is no anonymousId either.
    consent("SUBSCRIBED")
    early = of_contact(2)
    assert [e["event"] for e in early] == ["Channel Subscription Updated", "Email Subscribed"]
    for event in early:
        assert "userId" not in event and "anonymousId" not in event, event
        assert event["context"]["externalIds"] == [external_id(email, "email")]
        assert event["context"]["traits"] == {"email": email}
        assert event["properties"]["previous_subscription_status"] is None

    # The person's identify reaches the events source: from then on the events carry the user fields.
    user_id = "early-" + uuid.uuid4().hex[:6]
    space.send("identify", {"userId": user_id, "traits": {"email": email}})
    wait_for(lambda: psql(f"SELECT user_id FROM events_source.profiles "
                          f"WHERE space_id = '{space.id}' AND email = '{email}'"),
             what="the profile to reach the events source")
    consent("UNSUBSCRIBED")
    consent("SUBSCRIBED")  # re-subscribing is Engage's Email Subscribed too
    # (Keyed by the contact before and by the profile after: one key's events are in order.)
    later = [e for e in of_contact(5) if "userId" in e]
    assert [(e["event"], e["properties"]["subscription_status"]) for e in later] == [
        ("Channel Subscription Updated", "unsubscribed"), ("Channel Subscription Updated", "subscribed"),
        ("Email Subscribed", "subscribed")]
    for event in later:
        assert event["userId"] == user_id and "anonymousId" not in event
        assert external_id(email, "email") in event["context"]["externalIds"]
        assert external_id(user_id, "user_id") in event["context"]["externalIds"]
    assert later[2]["properties"]["previous_subscription_status"] == "unsubscribed"
    assert later[2]["properties"]["version"] == later[1]["properties"]["version"] == 3


def test_email_group_events_name_the_group_by_id_and_name(profiles, subscriptions, messaging, fakes, events_source):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    wait_for_events_source(events_source, ms.space)
    email = f"gil-{uuid.uuid4().hex[:6]}@example.com"
    person = ms.person("Gil", email=email)
    ms.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED",
                   "groups": [{"name": "Newsletter", "status": "SUBSCRIBED"}]}])
    wait_for(lambda: len(psql(f"SELECT 1 FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'")) == 2,
             what="states")
    template = ms.template("EMAIL", "News", {"subject": "News", "html": UNSUB_HTML})
    message = ms.send(person, "EMAIL", template, group="newsletter")  # as spelled by the request
    sent = ms.wait_state(message, "sent")
    base = {"email": email, "timestamp": int(time.time()), "sg_message_id": sent["providerMessageId"] + ".filter.1",
            "engage_message_id": message, "engage_space_id": ms.id, "asm_group_id": 42}
    assert sendgrid_post(f"{messaging.url}/webhooks/sendgrid/{ms.id}", [
        {**base, "event": "group_unsubscribe", "sg_event_id": "ev-" + uuid.uuid4().hex},
        {**base, "event": "group_resubscribe", "sg_event_id": "ev-" + uuid.uuid4().hex},
    ], ms.private_pem).status_code == 200
    mail = [r for r in fakes.requests("sendgrid")
            if r["body"]["personalizations"][0]["custom_args"]["engage_message_id"] == message][0]
    link = mail["body"]["headers"]["List-Unsubscribe"].strip("<>")
    one_click = requests.post(link, data="List-Unsubscribe=One-Click", allow_redirects=False,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200

    recorded = ms.events(message, expected=4)
    assert sorted((e["event"], e["group"]) for e in recorded if e["event"].startswith("Email Group")) == [
        ("Email Group Subscribed", "Newsletter"), ("Email Group Unsusbcribed", "Newsletter"),
        ("Email Group Unsusbcribed", "newsletter")]
    published = source_events(ms.id, expected=3, match=lambda e: e["event"].startswith("Email Group"))
    assert sorted(e["event"] for e in published) == [
        "Email Group Subscribed", "Email Group Unsusbcribed", "Email Group Unsusbcribed"]
    group_id = ms.group["data"]["id"]
    for event in published:
        # The subscriptions service's id and spelling, as on Group Subscription Updated.
        properties = event["properties"]
        assert properties["group_id"] == group_id and properties["group_name"] == "Newsletter", event
        assert properties["message_id"] == message and properties["contact"] == email
    updated = source_events(ms.id, match=lambda e: e["event"] == "Group Subscription Updated", timeout=30)
    assert {e["properties"]["group_id"] for e in updated} == {group_id}


def source_message_id(space_id, origin, input_id):
    """The events source's deterministic messageId, computed independently."""
    return "engage-" + hashlib.sha256(f"{space_id}|{origin}|{input_id}".encode()).hexdigest()[:32]


def test_webhooks_are_signed_retried_in_order_paused_and_resumed(profiles, events_source):
    space = Space(profiles.url)
    wait_for_events_source(events_source, space)
    receiver = WebhookReceiver()
    started = iso()
    try:
        bad = api(events_source, space, "POST", "/destinations", {"url": "ftp://example.com/x"})
        assert bad.status_code == 422 and "url" in bad.json()["error"]["message"]
        for internal in ["http://169.254.169.254/latest/meta-data/", "http://[::1]:5432/", "http://2130706434:8081/admin/spaces"]:  # 127.0.0.2: only 127.0.0.1 is allowed here
            bad = api(events_source, space, "POST", "/destinations", {"url": internal})
            assert bad.status_code == 422 and "url" in bad.json()["error"]["message"], internal
        bad = api(events_source, space, "POST", "/destinations", {"url": receiver.url, "events": ["Email *ed"]})
        assert bad.status_code == 422 and "events[0]" in bad.json()["error"]["message"]
        created = api(events_source, space, "POST", "/destinations",
                      {"name": "Warehouse", "url": receiver.url, "events": ["Email *", "SMS Delivered"]})
        assert created.status_code == 201, created.text
        destination = created.json()["data"]
        dest = f"/destinations/{destination['id']}"
        assert destination["secret"].startswith("whsec_") and destination["status"] == "active"
        receiver.secret = destination["secret"]
        assert "secret" not in api(events_source, space, "GET", dest).json()["data"]

        producer, order = Producer(), {}

        def emit(pid, events):
            for event in events:
                producer.send("engage.message-events", pid, event)
                if event["event"] != "SMS Queued":
                    order.setdefault(pid, []).append(source_message_id(space.id, "message", event["id"]))
            producer.flush()

        # Two people, ten deliveries each; SMS Queued is filtered out. The first delivery of each
        # person fails twice, and the rest of that person's events wait for it.
        people = [new_id("ann"), new_id("bob")]
        for pid in people:
            message = new_id("msg")
            events = [message_event(space.id, "Email Processed", message, pid, "p@example.com")]
            events += [message_event(space.id, "Email Opened", message, pid, "p@example.com", suffix=f"open{i}") for i in range(7)]
            events += [message_event(space.id, "SMS Queued", new_id("sms"), pid, "+14155550100", channel="SMS"),
                       message_event(space.id, "SMS Delivered", new_id("sms"), pid, "+14155550100", channel="SMS")]
            events.append(message_event(space.id, "Email Link Clicked", message, pid, "p@example.com", url="https://shop.example/a"))
            receiver.failures[source_message_id(space.id, "message", events[0]["id"])] = 2
            emit(pid, events)
        wait_for(lambda: len(receiver.accepted_ids()) >= 20, what="20 deliveries")
        accepted = receiver.accepted_ids()
        assert len(accepted) == len(set(accepted)) == 20, "no duplicates after success"
        for pid in people:
            assert [i for i in accepted if i in order[pid]] == order[pid], "one person's events arrive in order"
        attempts = [(webhook_id, status, ok) for webhook_id, status, ok, _ in receiver.attempts]
        assert all(ok for _, _, ok in attempts), "every delivery is signed"
        for pid in people:
            first = order[pid][0]
            assert [status for webhook_id, status, _ in attempts if webhook_id == first] == [500, 500, 200], "retried with the same id"
        assert all(json.loads(body)["event"] != "SMS Queued" for _, _, _, body in receiver.attempts)
        # The receiver answers before the worker records the answer.
        log = wait_for(lambda: (log := api(events_source, space, "GET", f"{dest}/deliveries", limit=100).json()["data"])
                       and all(d["status"] == "delivered" for d in log) and log, what="the delivery log to show 20 delivered")
        assert len(log) == 20
        assert sorted(d["attempts"] for d in log)[-2:] == [3, 3]

        # The receiver goes down: a delivery fails every attempt and the destination pauses with the reason.
        receiver.down = True
        emit(people[0], [message_event(space.id, "Email Opened", new_id("m"), people[0], "p@example.com") for _ in range(3)])
        paused = wait_for(lambda: (d := api(events_source, space, "GET", dest).json()["data"])["status"] == "paused" and d,
                          what="the destination to pause")
        assert "failed 4 times" in paused["pausedReason"] and "503" in paused["pausedReason"]
        failed_attempts = len(receiver.attempts)
        emit(people[1], [message_event(space.id, "Email Opened", new_id("m"), people[1], "p@example.com") for _ in range(2)])
        wait_for(lambda: api(events_source, space, "GET", dest).json()["data"]["pending"] == 5, what="events queued while paused")
        assert len(receiver.attempts) == failed_attempts, "a paused destination is not attempted"

        # Fixed and resumed: the undelivered events go out, in order, once each.
        receiver.down = False
        resumed = api(events_source, space, "POST", f"{dest}/resume")
        assert resumed.status_code == 200 and resumed.json()["data"]["status"] == "active"
        wait_for(lambda: len(receiver.accepted_ids()) >= 25, what="the queued events after resume")
        accepted = receiver.accepted_ids()
        assert len(accepted) == len(set(accepted)) == 25
        for pid in people:
            assert [i for i in accepted if i in order[pid]] == order[pid]
        wait_for(lambda: api(events_source, space, "GET", dest).json()["data"]["pending"] == 0, what="the queue to be recorded as empty")

        # A replay of a time range sends the delivered events again, with their original ids.
        replay = api(events_source, space, "POST", f"{dest}/replay", {"from": started})
        assert replay.status_code == 202 and replay.json()["data"]["queued"] == 25
        wait_for(lambda: len(receiver.accepted_ids()) >= 50, what="the replay")
        assert sorted(receiver.accepted_ids()[25:]) == sorted(accepted)
    finally:
        receiver.close()


def analytics(events_source, space, **params):
    response = api(events_source, space, "GET", "/analytics/messages", **params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_analytics_count_exactly_through_a_crash_and_redelivery(profiles, log_dir, events_source):
    space = Space(profiles.url)
    wait_for_events_source(events_source, space)
    # A second instance shares the work and is killed mid-stream: its uncommitted batches are redelivered.
    second = ServiceProcess("events-source", log_dir, extra_env=events_source_env()).start()
    records = []

    def add(pid, event):
        records.append((pid, event))

    emails = []
    for i in range(40):
        pid, message = new_id("p"), new_id("em")
        emails.append((pid, message))
        dims = {"template": "tpl-a", "journeyId": "j1", "journeyStepId": "s1"}
        add(pid, message_event(space.id, "Email Processed", message, pid, "e@example.com", **dims))
        if i < 3:
            add(pid, message_event(space.id, "Email Deferred", message, pid, "e@example.com", **dims))
        add(pid, message_event(space.id, "Email Delivered" if i < 36 else "Email Bounced", message, pid, "e@example.com",
                               reason=None if i < 36 else "550 no such user", **dims))
        if i < 20:
            for n in range(2):
                add(pid, message_event(space.id, "Email Opened", message, pid, "e@example.com", suffix=f"open{n}", **dims))
        if i < 10:
            add(pid, message_event(space.id, "Email Machine Opened", message, pid, "e@example.com", **dims))
        if i < 8:
            for n in range(2):
                add(pid, message_event(space.id, "Email Link Clicked", message, pid, "e@example.com", suffix=f"a{n}",
                                       url="https://shop.example/a", **dims))
        if i < 4:
            add(pid, message_event(space.id, "Email Link Clicked", message, pid, "e@example.com", suffix="b",
                                   url="https://shop.example/b", **dims))
        if i == 0:
            add(pid, message_event(space.id, "Email Marked as Spam", message, pid, "e@example.com", **dims))
        if i == 1:
            add(pid, message_event(space.id, "Email Unsubscribed", message, pid, "e@example.com", **dims))
    for i in range(20):
        pid, message = new_id("p"), new_id("sm")
        dims = {"template": "tpl-b", "channel": "SMS", "broadcastId": "b1"}
        for status in ("Queued", "Sent"):
            add(pid, message_event(space.id, f"SMS {status}", message, pid, "+14155550100", **dims))
        outcome = "Delivered" if i < 15 else "Undelivered" if i < 18 else "Failed"
        add(pid, message_event(space.id, f"SMS {outcome}", message, pid, "+14155550100", **dims))
    test_pid, test_message = new_id("p"), new_id("test")
    add(test_pid, message_event(space.id, "Email Processed", test_message, test_pid, "t@example.com", test=True, template="tpl-a"))
    # Conversions (journey events): five messages, one of them converting twice.
    for n, (pid, message) in enumerate(emails[:5] + emails[:1]):
        add(pid, {"schemaVersion": 1, "id": f"conv-{message}-{n}", "spaceId": space.id, "event": "Journey Converted", "journeyId": "j1",
                  "journeyVersion": 1, "stepId": "s1", "profileId": pid, "messageId": message, "channel": "EMAIL", "templateId": "tpl-a",
                  "goalEvent": "Order Completed", "occurredAt": iso()})

    producer = Producer()
    half = len(records) // 2
    for pid, record in records[:half]:
        producer.send("engage.journey-events" if record["event"] == "Journey Converted" else "engage.message-events", pid, record)
    producer.flush()
    wait_for(lambda: psql(f"SELECT count(*) FROM events_source.message_stats WHERE space_id = '{space.id}'")[0][0] != "0",
             what="the first counts")
    second.kill9()
    # The producer side redelivers too: a third of the records go again.
    rng = random.Random(3)
    rest = records[half:] + rng.sample(records, len(records) // 3)
    for pid, record in rest:
        producer.send("engage.journey-events" if record["event"] == "Journey Converted" else "engage.message-events", pid, record)
    producer.flush()

    expected = {"sent": (60, 60), "delivered": (51, 51), "bounced": (4, 4), "deferred": (3, 3), "opened": (40, 20),
                "machine_opened": (10, 10), "clicked": (20, 8), "marked_as_spam": (1, 1), "unsubscribed": (1, 1),
                "undelivered": (3, 3), "failed": (2, 2), "converted": (5, 5), "read": (0, 0), "dropped": (0, 0), "skipped": (0, 0)}

    def totals():
        data = analytics(events_source, space, bucket="hour", **{"from": iso_hours_ago(3)})
        return {metric: (c["total"], c["unique"]) for metric, c in data["totals"].items()}
    wait_for(lambda: totals() == expected, timeout=90, interval=1, what="exact analytics")

    data = analytics(events_source, space, bucket="hour", groupBy="template", **{"from": iso_hours_ago(3)})
    groups = {g["key"]["templateId"]: g for g in data["groups"]}
    assert groups["tpl-a"]["metrics"]["sent"]["unique"] == 40 and groups["tpl-b"]["metrics"]["sent"]["unique"] == 20
    assert groups["tpl-a"]["rates"]["delivered"] == 36 / 40 and groups["tpl-a"]["rates"]["converted"] == 5 / 40
    assert sum(p["metrics"]["sent"]["unique"] for p in data["series"]) == 60
    assert {link["url"]: (link["total"], link["unique"]) for link in data["links"]} == {
        "https://shop.example/a": (16, 8), "https://shop.example/b": (4, 4)}
    sms = analytics(events_source, space, channel="sms", denominator="delivered", **{"from": iso_hours_ago(3)})
    assert sms["totals"]["sent"]["unique"] == 20 and sms["rates"]["undelivered"] == 3 / 15
    step = analytics(events_source, space, journeyId="j1", stepId="s1", **{"from": iso_hours_ago(3)})
    assert step["totals"]["opened"] == {"total": 40, "unique": 20} and len(step["series"]) >= 1

    # Downstream: every input published, under one id each (duplicates on the topic share the id).
    published = source_events(space.id, match=lambda e: e["properties"].get("test") is not True, timeout=60)
    inputs = {record["id"] for _, record in records if not record.get("test")}
    assert {e["messageId"] for e in published} == {
        source_message_id(space.id, "journey" if r["event"] == "Journey Converted" else "message", r["id"])
        for _, r in records if not r.get("test")}
    assert len(inputs) == len(records) - 1


def iso_hours_ago(hours):
    return iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours))


def test_bad_input_is_refused_precisely(profiles, events_source):
    space = Space(profiles.url)
    wait_for_events_source(events_source, space)
    assert requests.get(f"{events_source.url}/spaces/{space.id}/analytics/messages").status_code == 401
    for params, text in [({"bucket": "week"}, "bucket"), ({"timezone": "Mars/Olympus"}, "timezone"), ({"groupBy": "colour"}, "groupBy"),
                         ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"), ({"denominator": "x"}, "denominator"),
                         ({"bucket": "hour", "from": "2020-01-01T00:00:00Z"}, "buckets"), ({"channel": "fax"}, "channel")]:
        response = api(events_source, space, "GET", "/analytics/messages", **params)
        assert response.status_code == 400 and text in response.json()["error"]["message"], (params, response.text)
    assert api(events_source, space, "GET", "/destinations/dst_nope").status_code == 404
    assert api(events_source, space, "POST", "/destinations", {"name": "x"}).status_code == 400

    # Poison records go to the dead-letter topic with the reason; the good record after them is published.
    # (Every record stays JSON: other tests read this topic with a JSON parser.)
    pid, message = new_id("p"), new_id("m")
    produce("engage.message-events", pid, {"schemaVersion": 1, "id": new_id("bad"), "spaceId": space.id})
    produce("engage.message-events", pid, {**message_event(space.id, "Email Delivered", message, pid, "a@example.com"), "spaceId": ""})
    produce("engage.message-events", pid, message_event(space.id, "Email Delivered", message, pid, "a@example.com"))
    assert [e["event"] for e in source_events(space.id, expected=1)] == ["Email Delivered"]
    letters = topic_records("engage.message-events.dlq", lambda d: d.get("key") == pid and d.get("consumerGroup") == "engage-events-source",
                            expected=2)
    reasons = sorted(d["reason"] for d in letters)
    assert len(reasons) == 2 and "not a message-event/1 record" in reasons[0] and "spaceId is empty" in reasons[1], reasons
