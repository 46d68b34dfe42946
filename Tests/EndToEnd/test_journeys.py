"""journeys with real processes: the abandoned cart with its conversion goal, random splits with a
holdout, each re-entry mode, pause/resume, new versions with step mapping, and refused input."""
import random
import time
import uuid

import requests

from engage_harness import psql, topic_records, wait_for
from journeys_helpers import JourneySpace


def phone():
    return "+1555" + "".join(random.choice("0123456789") for _ in range(7))


def sms_to(fakes, number):
    return [r for r in fakes.requests("twilio") if r["recipient"] == number]


def test_abandoned_cart_sends_the_promo_without_a_purchase_and_counts_conversions_in_the_window(
        profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    promo = js.template("SMS", "Cart promo", {"body": "Still thinking, {{profile.traits.first_name}}? CART10 takes 10% off"})
    people = {}
    for name in ("Ada", "Bob", "Cy"):
        number = phone()
        user, pid = js.user(name, phone=number)
        people[name] = {"user": user, "pid": pid, "phone": number}
    js.subscribe([{"key": p["phone"], "type": "SMS", "status": "SUBSCRIBED"} for p in people.values()])
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{js.id}'")[0][0] == "3",
             what="subscription states to reach messaging")
    cart = js.journey("Abandoned cart", {
        "entry": {"type": "event", "event": "Product Added"},
        "reentry": {"mode": "after_exit", "minimumGapSeconds": 0},
        "exitRules": [{"type": "event", "event": "Order Completed"}],
        "start": "wait",
        "steps": [
            {"id": "wait", "name": "Give them a moment", "type": "wait", "seconds": 2, "next": "check"},
            {"id": "check", "type": "wait_for_event", "timeoutSeconds": 2, "timeoutNext": "promo",
             "branches": [{"name": "purchased", "event": "Order Completed", "next": None}]},
            {"id": "promo", "type": "send", "channel": "SMS", "templateId": promo, "purpose": "marketing",
             "goal": {"event": "Order Completed", "where": [{"property": "total", "operator": "greater_than", "value": 0}],
                      "windowSeconds": 15},
             "next": None},
        ]})
    for person in people.values():
        js.track(person["user"], "Product Added", sku="sku-1")
    bob = people["Bob"]
    wait_for(lambda: js.instances(cart, bob["pid"]), what="Bob to enter")
    js.track(bob["user"], "Order Completed", total=30)

    # Ada and Cy did not buy: after the wait and the timeout, the promo goes out to them only.
    for name in ("Ada", "Cy"):
        sms = wait_for(lambda: sms_to(fakes, people[name]["phone"]), timeout=30, what=f"{name}'s promo")
        assert len(sms) == 1 and "CART10" in sms[0]["form"]["Body"][0] and name in sms[0]["form"]["Body"][0]

    # Ada buys within the window (it opens when the provider took the message): one conversion.
    # A purchase of 0 does not meet the goal.
    ada, cy = people["Ada"], people["Cy"]
    def window_open(pid):
        rows = psql(f"SELECT message_id FROM journeys.conversion_goals WHERE space_id = '{js.id}' AND profile_id = '{pid}' "
                    "AND window_start IS NOT NULL")
        return rows and rows[0][0]
    ada_message = wait_for(lambda: window_open(ada["pid"]), what="Ada's conversion window to open")
    js.track(ada["user"], "Order Completed", total=0)
    js.track(ada["user"], "Order Completed", total=25)
    cy_message = wait_for(lambda: window_open(cy["pid"]), what="Cy's conversion window to open")
    cy_window_opened = time.monotonic()

    bob_pass = wait_for(lambda: (i := js.instances(cart, bob["pid"])) and i[0]["status"] == "exited" and i[0], what="Bob to exit")
    assert bob_pass["exitReason"] == "exit_event:Order Completed"
    assert sms_to(fakes, bob["phone"]) == []
    requests_out = js.requests_of(journey_id=cart, expected=2)
    assert {r["profileId"]: r["id"] for r in requests_out} == {ada["pid"]: ada_message, cy["pid"]: cy_message}
    assert all(r["journeyStepId"] == "promo" and r["id"].startswith("jm_") for r in requests_out)
    converted = topic_records("engage.journey-events", lambda e: e.get("journeyId") == cart and e["event"] == "Journey Converted",
                              expected=1)
    assert [(e["profileId"], e["messageId"], e["goalEvent"], e["channel"]) for e in converted] == \
        [(ada["pid"], ada_message, "Order Completed", "SMS")]

    # Cy buys after the window closed: no conversion. Cy's next cart (a new pass, after_exit) shows
    # the purchase was processed before it.
    wait_for(lambda: time.monotonic() - cy_window_opened > 16, timeout=30, what="Cy's conversion window to close")
    js.track(cy["user"], "Order Completed", total=40)
    js.track(cy["user"], "Product Added", sku="sku-2")
    wait_for(lambda: len(js.instances(cart, cy["pid"])) == 2, what="Cy's second pass")
    stats = js.stats(cart)
    assert stats["converted"] == 1
    assert js.step(cart, "promo")["entered"] == 2 and js.step(cart, "promo")["converted"] == 1
    assert js.step(cart, "check")["completed"] == 2

    # Ada's pass, as journey events: entered, each step entered and completed, the timeout branch, exit.
    ada_events = topic_records("engage.journey-events", lambda e: e.get("journeyId") == cart and e["profileId"] == ada["pid"], expected=10)
    names = [(e["event"], e.get("stepId"), e.get("branch")) for e in ada_events if e["event"] != "Journey Converted"]
    assert names == [("Journey Entered", None, None),
                     ("Journey Step Entered", "wait", None), ("Journey Step Completed", "wait", None),
                     ("Journey Step Entered", "check", None), ("Journey Branch Taken", "check", "timeout"),
                     ("Journey Step Completed", "check", "timeout"),
                     ("Journey Step Entered", "promo", None), ("Journey Step Completed", "promo", None),
                     ("Journey Exited", "promo", None)]


def test_a_random_split_over_2000_profiles_keeps_its_shares_and_the_holdout_gets_nothing(
        profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    receipt = js.template("EMAIL", "Welcome", {"subject": "Welcome", "text": "Hello"}, purpose="transactional")
    split = js.journey("Welcome test", {
        "entry": {"type": "event", "event": "Signed Up"},
        "start": "split",
        "steps": [
            {"id": "split", "type": "random_split", "branches": [
                {"name": "long", "percent": 50, "next": "send_long"},
                {"name": "short", "percent": 30, "next": "send_short"},
                {"name": "holdout", "percent": 20, "holdout": True}]},
            {"id": "send_long", "type": "send", "channel": "EMAIL", "templateId": receipt, "purpose": "transactional", "next": None},
            {"id": "send_short", "type": "send", "channel": "EMAIL", "templateId": receipt, "purpose": "transactional", "next": None},
        ]})
    run = uuid.uuid4().hex[:6]
    for start in range(0, 2000, 500):
        js.space.send("batch", {"batch": [{"type": "track", "userId": f"split-{run}-{i}", "event": "Signed Up",
                                           "messageId": f"split-{run}-{i}"} for i in range(start, start + 500)]})
    wait_for(lambda: js.stats(split)["entered"] == 2000 and js.stats(split)["active"] == 0, timeout=180, interval=1,
             what="2000 profiles through the split")
    branches = {}
    for event in topic_records("engage.journey-events", lambda e: e.get("journeyId") == split and e["event"] == "Journey Branch Taken",
                               expected=2000, timeout=120):
        branches.setdefault(event["branch"], set()).add(event["profileId"])
    shares = {name: len(ids) / 20 for name, ids in branches.items()}
    # Deterministic per profile, and the profile ids are new each run: each share is a binomial draw
    # over 2,000 profiles. Within 4.5 standard deviations of its target (about 4 to 5 points), a
    # correct split fails about once in 50,000 runs; a wrong one (a branch off by 10 points) never passes.
    assert sum(len(ids) for ids in branches.values()) == 2000
    for name, target in (("long", 50), ("short", 30), ("holdout", 20)):
        tolerance = 4.5 * 100 * (target / 100 * (1 - target / 100) / 2000) ** 0.5
        assert abs(shares[name] - target) <= tolerance, (name, shares)
    requests_out = js.requests_of(journey_id=split, expected=len(branches["long"]) + len(branches["short"]), timeout=120)
    receivers = {r["profileId"] for r in requests_out}
    assert receivers == branches["long"] | branches["short"]
    assert not receivers & branches["holdout"]
    assert {r["journeyStepId"] for r in requests_out if r["profileId"] in branches["short"]} == {"send_short"}
    assert js.step(split, "split")["completed"] == 2000


def test_each_reentry_mode(profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    user, pid = js.user("Dee")
    quick = [{"id": "done", "type": "wait", "seconds": 0, "next": None}]
    once = js.journey("Once", {"entry": {"type": "event", "event": "Ping Once"}, "reentry": {"mode": "once"}, "start": "done", "steps": quick})
    again = js.journey("Again", {"entry": {"type": "event", "event": "Ping Again"}, "reentry": {"mode": "after_exit", "minimumGapSeconds": 5},
                                 "start": "done", "steps": quick})
    every = js.journey("Every", {"entry": {"type": "event", "event": "Ping Every"}, "reentry": {"mode": "every_event"}, "start": "hold",
                                 "steps": [{"id": "hold", "type": "wait", "seconds": 60, "next": None}]})

    js.track(user, "Ping Again")
    first = wait_for(lambda: (i := js.instances(again, pid)) and i[0]["status"] == "exited" and i[0], what="the first pass to end")
    for _ in range(3):
        js.track(user, "Ping Once")
    js.track(user, "Ping Again")  # within 5 s of the exit: refused
    for n in range(3):
        js.track(user, "Ping Every", n=n)
    # One partition carries one profile's events in order: once every pass of "Every" is in, so are the others.
    wait_for(lambda: len(js.instances(every, pid)) == 3, what="three parallel passes of Every")
    assert len(js.instances(once, pid)) == 1
    assert len(js.instances(again, pid)) == 1
    assert all(i["status"] == "active" for i in js.instances(every, pid))
    assert sorted(i["trigger"]["properties"]["n"] for i in js.instances(every, pid)) == [0, 1, 2]

    exited = time.monotonic()
    wait_for(lambda: time.monotonic() - exited > 5.5, timeout=10, what="the re-entry gap to pass")
    js.track(user, "Ping Again")
    wait_for(lambda: len(js.instances(again, pid)) == 2, what="a pass after the gap")
    assert first["exitReason"] == "completed"
    assert js.stats(once)["entered"] == 1 and js.stats(again)["entered"] == 2 and js.stats(every)["active"] == 3


def test_pause_holds_timers_and_entries_until_resume(profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    topic = f"e2e.journey-context-{uuid.uuid4().hex[:6]}"
    ada_user, ada = js.user("Ada", plan="gold")
    bob_user, bob = js.user("Bob")
    journey = js.journey("Paused", {
        "entry": {"type": "event", "event": "Asked For Demo", "where": [{"property": "size", "operator": "greater_than", "value": 10}]},
        "start": "wait",
        "steps": [{"id": "wait", "type": "wait", "seconds": 2, "next": "crm"},
                  {"id": "crm", "type": "destination", "topic": topic, "next": "mark"},
                  {"id": "mark", "type": "set_traits", "traits": {"demo_requested": True}, "next": None}]})
    js.track(ada_user, "Asked For Demo", size=50)
    js.track(bob_user, "Asked For Demo", size=5)  # does not pass the entry filter
    wait_for(lambda: js.instances(journey, ada), what="Ada to enter")
    assert js.jrequest("POST", f"/journeys/{journey}/pause").json()["data"]["status"] == "paused"
    paused_at = time.monotonic()
    js.track(bob_user, "Asked For Demo", size=20)  # while paused: no entry
    wait_for(lambda: time.monotonic() - paused_at > 3, timeout=5, what="Ada's wait to come due")
    held = js.instances(journey, ada)[0]
    assert held["paths"][0]["stepId"] == "wait" and held["paths"][0]["status"] == "waiting"
    assert topic_records(topic, lambda r: True, idle=1.0, timeout=5) == []
    assert js.instances(journey, bob) == []

    assert js.jrequest("POST", f"/journeys/{journey}/resume").json()["data"]["status"] == "published"
    records = topic_records(topic, lambda r: r["profileId"] == ada, expected=1)
    assert len(records) == 1
    context = records[0]
    assert context["journeyId"] == journey and context["stepId"] == "crm" and context["traits"]["plan"] == "gold"
    assert context["trigger"]["properties"]["size"] == 50 and context["userId"] == ada_user
    # The set-trait step reaches the profile through the profiles service's intake.
    wait_for(lambda: js.space.profile(f"user_id:{ada_user}", "traits").json().get("traits", {}).get("demo_requested") is True,
             what="the trait written by the journey")
    assert js.instances(journey, bob) == []
    assert js.jrequest("POST", f"/journeys/{journey}/resume").status_code == 409


def test_a_new_version_moves_mapped_profiles_and_leaves_the_others(profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    topic = f"e2e.journey-versions-{uuid.uuid4().hex[:6]}"
    ada_user, ada = js.user("Ada", group="a")
    bob_user, bob = js.user("Bob", group="b")
    route = {"id": "route", "type": "split", "condition": {"type": "trait", "trait": "group", "operator": "equals", "value": "a"},
             "trueNext": "wait_a", "falseNext": "wait_b"}
    v1 = {"entry": {"type": "event", "event": "Trial Started"}, "start": "route", "steps": [
        route,
        {"id": "wait_a", "type": "wait", "seconds": 8, "next": "tell_v1"},
        {"id": "wait_b", "type": "wait", "seconds": 8, "next": "tell_v1"},
        {"id": "tell_v1", "type": "destination", "topic": topic, "next": None}]}
    journey = js.journey("Trial", v1)
    js.track(ada_user, "Trial Started")
    js.track(bob_user, "Trial Started")
    for pid, step in ((ada, "wait_a"), (bob, "wait_b")):
        wait_for(lambda: (i := js.instances(journey, pid)) and i[0]["paths"][0]["stepId"] == step, what=f"{pid} at {step}")

    v2 = {**v1, "steps": [route,
                          {"id": "wait_a2", "type": "wait", "seconds": 1, "next": "tell_v2"},
                          {"id": "wait_b", "type": "wait", "seconds": 8, "next": "tell_v1"},
                          {"id": "tell_v1", "type": "destination", "topic": topic, "next": None},
                          {"id": "tell_v2", "type": "destination", "topic": topic, "next": None}]}
    v2["steps"][0] = {**route, "trueNext": "wait_a2"}
    bad_mapping = js.jrequest("PATCH", f"/journeys/{journey}", {"definition": v2})
    assert bad_mapping.status_code == 200
    refused = js.jrequest("POST", f"/journeys/{journey}/publish", {"stepMapping": {"wait_x": "wait_a2"}})
    assert refused.status_code == 422 and refused.json()["problems"] == ["stepMapping.wait_x: version 1 has no step \"wait_x\""]
    published = js.publish(journey, {"wait_a": "wait_a2"})
    assert published["currentVersion"] == 2

    records = topic_records(topic, lambda r: r["journeyId"] == journey, expected=2, timeout=30)
    by_profile = {r["profileId"]: r for r in records}
    # Ada was mapped: her wait counts from her first entry, so v2's 1-second wait is over at once.
    assert (by_profile[ada]["journeyVersion"], by_profile[ada]["stepId"]) == (2, "tell_v2")
    assert (by_profile[bob]["journeyVersion"], by_profile[bob]["stepId"]) == (1, "tell_v1")
    assert [i["version"] for i in js.instances(journey, ada)] == [2]
    assert [i["version"] for i in js.instances(journey, bob)] == [1]
    versions = js.jget(f"/journeys/{journey}/versions").json()["data"]
    assert [(v["version"], v.get("stepMapping")) for v in versions] == [(1, None), (2, {"wait_a": "wait_a2"})]
    # New entries take the new version.
    carl_user, carl = js.user("Carl", group="a")
    js.track(carl_user, "Trial Started")
    wait_for(lambda: (i := js.instances(journey, carl)) and i[0]["version"] == 2, what="Carl on version 2")


def test_refused_input_gets_precise_errors(profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    sms = js.template("SMS", "Hello", {"body": "hi"})
    broken = js.jrequest("POST", "/journeys", {"name": "Broken", "definition": {
        "entry": {"type": "event", "event": "X"}, "start": "a",
        "steps": [{"id": "a", "type": "send", "channel": "EMAIL", "templateId": "tpl_missing", "next": "b"},
                  {"id": "b", "type": "wait", "seconds": 5, "next": "a"},
                  {"id": "c", "type": "send", "channel": "EMAIL", "templateId": sms, "next": None}]}}).json()["data"]
    # The template reaches journeys asynchronously; once it has, the problems are stable.
    wait_for(lambda: any("is a SMS template" in p for p in js.jrequest("POST", f"/journeys/{broken['id']}/validate").json()["data"]["problems"]),
             what="the template to reach journeys")
    refused = js.jrequest("POST", f"/journeys/{broken['id']}/publish")
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_journey"
    assert sorted(refused.json()["problems"]) == sorted([
        "graph: steps \"b\" -> \"a\" close a cycle; every path must end",
        "graph: step \"c\" is never reached from the start",
        "steps.a.templateId: template \"tpl_missing\" does not exist in this space",
        f"steps.c.templateId: template \"{sms}\" is a SMS template, the step sends EMAIL",
    ])
    assert js.jget(f"/journeys/{broken['id']}").json()["data"]["status"] == "draft"
    assert js.jrequest("POST", f"/journeys/{broken['id']}/pause").status_code == 409
    assert js.jrequest("POST", "/journeys", {"name": "No definition"}).status_code == 400
    assert js.jget("/journeys/jny_nope").status_code == 404
    assert requests.get(f"{journeys.url}/spaces/{js.id}/journeys").status_code == 401
    archived = js.jrequest("POST", f"/journeys/{broken['id']}/archive")
    assert archived.status_code == 200 and archived.json()["data"]["status"] == "archived"
    assert js.jrequest("PATCH", f"/journeys/{broken['id']}", {"name": "Again"}).status_code == 409
    bad_broadcast = js.jrequest("POST", "/broadcasts", {"name": "B", "audienceId": "aud_x", "channel": "EMAIL", "templateId": sms})
    assert bad_broadcast.status_code == 422 and bad_broadcast.json()["problems"] == [
        'audienceId: no audience "aud_x" in this space (an id or key; a just-created audience takes a moment to arrive)',
        f"templateId: template {sms} is a SMS template, the broadcast sends EMAIL"]
    assert js.jget("/broadcasts/estimate?audienceId=aud_x").status_code == 422
    assert js.jrequest("POST", "/broadcasts", {"name": "B"}).json()["message"] == \
        "audienceId is required; channel is required; templateId is required"
