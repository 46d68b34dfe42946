"""Journeys and messaging together with real processes: broadcasts (snapshot, throttle, cancel,
progress), frequency caps and quiet hours, audience-entered journeys, and a kill -9 of the journeys
service mid-run."""
import datetime
import random
import time
import uuid
from zoneinfo import ZoneInfo

from engage_harness import psql, topic_records, wait_for
from journeys_helpers import JourneySpace, audience


def phone():
    return "+1555" + "".join(random.choice("0123456789") for _ in range(7))


def test_a_broadcast_snapshots_its_audience_throttles_and_can_be_cancelled(
        profiles, subscriptions, messaging, fakes, journeys, audiences):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys, audiences)
    sale = js.template("SMS", "Flash sale", {"body": "Flash sale today, {{profile.traits.first_name}}"})
    numbers = {}
    for index in range(5):
        number = phone()
        _, pid = js.user(f"Gold{index}", phone=number, plan="gold")
        numbers[pid] = number
    js.user("Basic", phone=phone(), plan="basic")
    js.subscribe([{"key": n, "type": "SMS", "status": "SUBSCRIBED"} for n in numbers.values()])
    gold = audience(js, "gold_" + uuid.uuid4().hex[:4], {"type": "trait", "trait": "plan", "operator": "equals", "value": "gold"})
    # 422 until the audience has reached journeys (engage.audiences), then its size.
    wait_for(lambda: (r := js.jget(f"/broadcasts/estimate?audienceId={gold}")).status_code == 200
             and r.json()["data"]["recipients"] == 5, timeout=60, what="the audience to reach journeys")
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{js.id}'")[0][0] == "5",
             what="subscription states to reach messaging")

    created = js.jrequest("POST", "/broadcasts", {"name": "Flash sale", "audienceId": gold, "channel": "SMS", "templateId": sale})
    assert created.status_code == 201, created.text
    broadcast = created.json()["data"]["id"]
    done = wait_for(lambda: (b := js.jget(f"/broadcasts/{broadcast}").json()["data"])["status"] == "completed" and b,
                    what="the broadcast to complete")
    assert (done["recipients"], done["requested"]) == (5, 5)
    sent = js.requests_of(broadcast_id=broadcast, expected=5)
    assert sorted(r["profileId"] for r in sent) == sorted(numbers)
    assert len({r["id"] for r in sent}) == 5 and all(r["purpose"] == "marketing" for r in sent)
    final = wait_for(lambda: (b := js.jget(f"/broadcasts/{broadcast}").json()["data"])["outcomes"].get("sent") == 5 and b,
                     what="the provider outcomes to be counted")
    assert final["outcomes"].get("skipped") is None
    assert sorted(r["recipient"] for r in fakes.requests("twilio") if r["recipient"] in numbers.values()) == sorted(numbers.values())
    assert js.jrequest("POST", f"/broadcasts/{broadcast}/cancel").status_code == 409

    # 30 a minute: the first goes at once, the next two seconds later; cancelled before the third.
    throttled = js.jrequest("POST", "/broadcasts", {"name": "Slow", "audienceId": gold, "channel": "SMS", "templateId": sale,
                                                    "throttlePerMinute": 30}).json()["data"]["id"]
    wait_for(lambda: js.jget(f"/broadcasts/{throttled}").json()["data"]["requested"] >= 1, what="the first throttled request")
    cancelled = js.jrequest("POST", f"/broadcasts/{throttled}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "cancelled"
    requested = cancelled.json()["data"]["requested"]
    assert 1 <= requested <= 2
    # Past the next throttle slot, nothing more goes out.
    watch_until = time.monotonic() + 3
    while time.monotonic() < watch_until:
        assert js.jget(f"/broadcasts/{throttled}").json()["data"]["requested"] == requested

    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    scheduled = js.jrequest("POST", "/broadcasts", {"name": "Tomorrow", "audienceId": gold, "channel": "SMS", "templateId": sale,
                                                    "scheduledAt": later}).json()["data"]
    assert scheduled["status"] == "scheduled"
    assert js.jrequest("POST", f"/broadcasts/{scheduled['id']}/cancel").json()["data"]["requested"] == 0


def test_frequency_caps_skip_and_quiet_hours_delay_marketing_only(profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    promo = js.template("SMS", "Promo", {"body": "Deal of the day"})
    receipt = js.template("SMS", "Receipt", {"body": "Your receipt"}, purpose="transactional")
    ada_phone, tom_phone = phone(), phone()
    _, ada = js.user("Ada", phone=ada_phone, timezone="Pacific/Kiritimati")
    _, tom = js.user("Tom", phone=tom_phone, timezone="Asia/Tokyo")
    js.subscribe([{"key": n, "type": "SMS", "status": "SUBSCRIBED"} for n in (ada_phone, tom_phone)])
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{js.id}'")[0][0] == "2",
             what="subscription states to reach messaging")
    assert js.api("GET", "/messaging/send-policy").json()["data"] == {"frequencyCap": None, "quietHours": None}
    bad = js.api("PUT", "/messaging/send-policy", {"frequencyCap": {"messages": 0, "windowSeconds": 60}, "quietHours": {"start": "9am"}})
    assert bad.status_code == 422 and bad.json()["problems"] == ["quietHours.end is required"]
    policy = js.api("PUT", "/messaging/send-policy", {"frequencyCap": {"messages": 2, "windowSeconds": 3600}})
    assert policy.status_code == 200, policy.text

    marketing = [js.send(ada, "SMS", promo) for _ in range(3)]
    outcomes = [js.wait_state(m, "sent", "skipped")["state"] for m in marketing]
    assert sorted(outcomes) == ["sent", "sent", "skipped"]
    capped = js.message(marketing[outcomes.index("skipped")])
    assert capped["reason"] == "frequency_capped" and "2 marketing messages" in capped["errorMessage"]
    skipped_event = js.events(capped["id"], expected=1)[0]
    assert skipped_event["event"] == "SMS Skipped" and skipped_event["reason"] == "frequency_capped"
    js.wait_state(js.send(ada, "SMS", receipt, purpose="transactional"), "sent")

    # Quiet hours around Tom's local time now, ending at the next full minute in Tokyo.
    tokyo = datetime.datetime.now(ZoneInfo("Asia/Tokyo"))
    end = (tokyo + datetime.timedelta(minutes=1 if tokyo.second < 40 else 2)).replace(second=0, microsecond=0)
    start = tokyo - datetime.timedelta(hours=1)
    quiet = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "timeZoneTrait": "timezone", "defaultTimeZone": "UTC"}
    assert js.api("PUT", "/messaging/send-policy", {"frequencyCap": {"messages": 2, "windowSeconds": 3600},
                                                    "quietHours": quiet}).status_code == 200
    delayed = js.send(tom, "SMS", promo)
    held = wait_for(lambda: (m := js.message(delayed)) and m.get("reason") == "quiet_hours" and m, what="the quiet-hours delay")
    assert held["state"] == "pending"
    assert abs(datetime.datetime.fromisoformat(held["nextAttemptAt"].replace("Z", "+00:00")) - end) < datetime.timedelta(seconds=2)
    # Transactional messages are not held, nor are people whose own time is outside the quiet hours.
    js.wait_state(js.send(tom, "SMS", receipt, purpose="transactional"), "sent")
    assert [r for r in fakes.requests("twilio") if r["recipient"] == tom_phone and "Deal" in r["form"]["Body"][0]] == []
    # At the end of the quiet hours the message goes: delayed, not dropped.
    js.wait_state(delayed, "sent", timeout=150)
    assert len([r for r in fakes.requests("twilio") if r["recipient"] == tom_phone and "Deal" in r["form"]["Body"][0]]) == 1


def test_kill_9_mid_run_sends_each_message_once_and_strands_nobody(profiles, subscriptions, messaging, fakes, journeys, audiences):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys, audiences)
    receipt = js.template("EMAIL", "Onboarding", {"subject": "Welcome", "text": "Hello"}, purpose="transactional")
    key = "kill_" + uuid.uuid4().hex[:4]
    members = audience(js, key, {"type": "event", "event": "Kill Test Joined"})
    topic = f"e2e.journey-kill-{uuid.uuid4().hex[:6]}"
    journey = js.journey("Onboarding", {
        "entry": {"type": "audience", "audienceId": members},
        "start": "first",
        "steps": [{"id": "first", "type": "wait", "seconds": 1, "next": "send"},
                  {"id": "send", "type": "send", "channel": "EMAIL", "templateId": receipt, "purpose": "transactional", "next": "second"},
                  {"id": "second", "type": "wait", "seconds": 1, "next": "crm"},
                  {"id": "crm", "type": "destination", "topic": topic, "next": None}]})
    run = uuid.uuid4().hex[:6]
    for start in range(0, 300, 100):
        js.space.send("batch", {"batch": [{"type": "track", "userId": f"kill-{run}-{i}", "event": "Kill Test Joined",
                                           "messageId": f"kill-{run}-{i}"} for i in range(start, start + 100)]})
    wait_for(lambda: int(psql(f"SELECT count(*) FROM journeys.instances WHERE journey_id = '{journey}'")[0][0]) >= 50,
             timeout=120, what="profiles to start entering")
    journeys.kill9()
    journeys.start()
    wait_for(lambda: (s := js.stats(journey))["entered"] == 300 and s["active"] == 0, timeout=180, interval=1,
             what="all 300 passes to finish after the restart")
    stats = js.stats(journey)
    assert stats["exited"] == 300
    assert js.step(journey, "crm")["completed"] == 300 and js.step(journey, "send")["now"] == 0
    # The outbox may publish a request twice after the crash; its id is the same, so messaging sends once.
    requests_out = js.requests_of(journey_id=journey, expected=300, timeout=120)
    by_profile = {}
    for request in requests_out:
        by_profile.setdefault(request["profileId"], set()).add(request["id"])
    assert len(by_profile) == 300 and all(len(ids) == 1 for ids in by_profile.values())
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.messages WHERE journey_id = '{journey}'")[0][0] == "300",
             what="messaging to hold the 300 messages")
    context = topic_records(topic, lambda r: r["journeyId"] == journey, expected=300, timeout=120)
    assert len({r["profileId"] for r in context}) == 300
