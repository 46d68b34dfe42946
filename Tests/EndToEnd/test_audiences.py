"""Audiences through the real services: events and traits go in through the profiles service's
tracking API; membership comes out of the audiences API and engage.audience-membership."""
import threading
import uuid

import requests

from audience_helpers import AudienceSpace
from engage_harness import BROKERS, ServiceProcess, bearer, produce, topic_records, wait_for

VIEWED_NOT_BOUGHT = {"type": "and", "conditions": [
    {"type": "event", "event": "Product Viewed", "count": {"operator": "at_least", "value": 3},
     "window": {"within": {"value": 7, "unit": "days"}},
     "where": [{"property": "category", "operator": "in", "value": ["shoes", "hats"]}]},
    {"type": "not", "condition": {"type": "event", "event": "Order Completed"}},
]}


def test_counts_in_a_window_and_did_not_buy(profiles, audiences):
    space = AudienceSpace(profiles.url, audiences.url)
    space.create("browsers_not_buyers", VIEWED_NOT_BOUGHT)
    for _ in range(2):
        space.track("ada", "Product Viewed", {"category": "shoes"})
    space.track("ada", "Product Viewed", {"category": "books"})  # filtered out by the property filter
    space.track("ada", "Product Viewed", {"category": "shoes"}, seconds_ago=8 * 86_400)  # outside the window
    space.track("bob", "Product Viewed", {"category": "hats"})
    ada = space.wait_profile_id("user_id:ada")
    assert space.size("browsers_not_buyers") == 0
    space.track("ada", "Product Viewed", {"category": "hats"})
    assert space.wait_member_ids("browsers_not_buyers", 1) == [ada]
    entered = space.membership_events(expected=1)
    assert [(e["event"], e["profileId"], e["reason"], e["userId"]) for e in entered] == [("Audience Entered", ada, "realtime", "ada")]
    assert entered[0]["audienceKey"] == "browsers_not_buyers" and entered[0]["audienceVersion"] == 1

    # Buying makes her leave: "did not perform" is the NOT of a performed-event condition.
    space.track("ada", "Order Completed", {"revenue": 30})
    wait_for(lambda: space.size("browsers_not_buyers") == 0, what="ada to leave the audience")
    events = space.membership_events(expected=2)
    assert [e["event"] for e in events] == ["Audience Entered", "Audience Exited"]
    assert len({e["id"] for e in events}) == 2
    history = space.get(f"/profiles/{ada}/audience-history").json()["data"]
    assert [(h["event"], h["audienceKey"]) for h in history] == [("Audience Exited", "browsers_not_buyers"),
                                                                 ("Audience Entered", "browsers_not_buyers")]
    assert space.get(f"/profiles/{ada}/audiences").json()["data"] == []


def test_nested_logic_subscriptions_audience_of_audience_and_definition_errors(profiles, subscriptions, audiences):
    space = AudienceSpace(profiles.url, audiences.url)
    space.create("pro_users", {"type": "or", "conditions": [
        {"type": "trait", "trait": "plan", "operator": "equals", "value": "pro"},
        {"type": "and", "conditions": [{"type": "trait", "trait": "seats", "operator": "greater_or_equal", "value": 10},
                                       {"type": "not", "condition": {"type": "trait", "trait": "churned", "operator": "exists"}}]},
    ]})
    space.create("pro_reachable", {"type": "and", "conditions": [
        {"type": "audience", "audience": "pro_users"},
        {"type": "subscription", "channel": "EMAIL", "status": "subscribed"},
    ]})
    space.send("identify", {"userId": "u-pro", "traits": {"plan": "pro", "email": "pro@example.com"}})
    space.send("identify", {"userId": "u-team", "traits": {"seats": 12, "email": "team@example.com"}})
    space.send("identify", {"userId": "u-gone", "traits": {"seats": 50, "churned": True}})
    pro, team = space.wait_profile_id("user_id:u-pro"), space.wait_profile_id("user_id:u-team")
    wait_for(lambda: sorted(space.members("pro_users")) == sorted([pro, team]), what="pro_users members")
    assert space.size("pro_reachable") == 0

    put = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", headers=bearer(space.token),
                       json={"subscriptions": [{"key": "pro@example.com", "type": "EMAIL", "status": "subscribed"}]})
    assert put.status_code == 200, put.text
    assert space.wait_member_ids("pro_reachable", 1) == [pro]
    put = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", headers=bearer(space.token),
                       json={"subscriptions": [{"key": "pro@example.com", "type": "EMAIL", "status": "unsubscribed"}]})
    assert put.status_code == 200, put.text
    wait_for(lambda: space.size("pro_reachable") == 0, what="the unsubscribed person to leave pro_reachable")
    # Downgrading leaves pro_users, which takes the dependent audience along.
    space.send("identify", {"userId": "u-team", "traits": {"churned": True}})
    wait_for(lambda: space.members("pro_users") == [pro], what="u-team to leave pro_users")

    # A cycle is refused with its path; a malformed tree with the path of the problem; unknown names are fine.
    cycle = space.patch("/audiences/pro_users", {"definition": {"type": "audience", "audience": "pro_reachable"}})
    assert cycle.status_code == 422 and cycle.json()["error"]["message"] == \
        "definition refers back to itself: pro_users → pro_reachable → pro_users", cycle.text
    bad = space.post("/audiences", {"key": "bad", "name": "Bad", "definition": {"type": "and", "conditions": [
        {"type": "event", "event": "X", "count": {"operator": "more_than", "value": 2}}]}})
    assert bad.status_code == 422 and bad.json()["error"]["message"] == \
        "definition.conditions[0].count.operator: must be at_least, at_most or exactly", bad.text
    assert space.post("/audiences", {"key": "Bad Key", "definition": {"type": "audience", "audience": "x"}}).status_code == 400
    assert space.post("/audiences", {"key": "future", "definition": {"type": "event", "event": "Not Sent Yet"}}).status_code == 201
    referenced = requests.delete(f"{audiences.url}/spaces/{space.id}/audiences/pro_users", headers=bearer(space.token))
    assert referenced.status_code == 409 and "pro_reachable" in referenced.json()["error"]["message"]
    assert requests.get(f"{audiences.url}/spaces/{space.id}/audiences").status_code == 401

    # Preview of a draft: evaluated over a sample (here every profile), nothing saved.
    preview = space.post("/audiences/preview", {"definition": {"type": "trait", "trait": "seats", "operator": "greater_than", "value": 11}})
    assert preview.status_code == 200, preview.text
    body = preview.json()["data"]
    assert body["exact"] and body["estimatedSize"] == 2 and body["profilesInSpace"] == 3
    assert {p["userId"] for p in body["sample"]} == {"u-team", "u-gone"}


def test_a_window_expires_without_new_events(profiles, audiences):
    space = AudienceSpace(profiles.url, audiences.url)
    space.create("recently_active", {"type": "event", "event": "Session Started", "window": {"within": {"value": 1, "unit": "minutes"}}})
    # An event 55 seconds old: in the one-minute window for five more seconds.
    space.track("cleo", "Session Started", seconds_ago=55)
    cleo = space.wait_profile_id("user_id:cleo")
    events = space.membership_events(expected=2, timeout=60)
    assert [(e["event"], e["reason"], e["profileId"]) for e in events] == [
        ("Audience Entered", "realtime", cleo), ("Audience Exited", "time", cleo)]
    assert space.size("recently_active") == 0


def test_a_merge_moves_membership_with_one_exit_and_one_entry(profiles, audiences):
    space = AudienceSpace(profiles.url, audiences.url)
    space.create("viewed_three", {"type": "event", "event": "Product Viewed", "count": {"operator": "at_least", "value": 3}})
    space.send("identify", {"userId": "dora", "traits": {"email": "dora@example.com"}})
    dora = space.wait_profile_id("user_id:dora")
    for _ in range(3):
        space.track(None, "Product Viewed", anonymous_id="device-7")
    device = space.wait_profile_id("anonymous_id:device-7")
    assert space.wait_member_ids("viewed_three", 1) == [device]
    # Logging in on the device merges the anonymous profile into Dora's (the older one).
    space.send("identify", {"userId": "dora", "anonymousId": "device-7"})
    wait_for(lambda: space.members("viewed_three") == [dora], what="the membership to move to the survivor")
    events = space.membership_events(expected=3)
    assert [(e["event"], e["profileId"], e["reason"], e.get("mergedInto")) for e in events] == [
        ("Audience Entered", device, "realtime", None),
        ("Audience Exited", device, "merged", dora),
        ("Audience Entered", dora, "merged", None)]
    assert events[2]["email"] == "dora@example.com"
    # The merged-away id answers with the survivor's memberships and both histories.
    assert [m["audienceKey"] for m in space.get(f"/profiles/{device}/audiences").json()["data"]] == ["viewed_three"]
    assert len(space.get(f"/profiles/{dora}/audience-history").json()["data"]) == 3
    # A fourth view counts on the survivor without a second entry.
    space.track("dora", "Product Viewed")
    assert len(space.membership_events(idle=3)) == 3


def test_backfill_over_history_while_events_keep_arriving(profiles, audiences):
    space = AudienceSpace(profiles.url, audiences.url)
    before = [f"early-{i}" for i in range(150)]
    space.send("batch", {"batch": [{"type": "track", "userId": u, "event": "Signed Up", "properties": {"plan": "pro"}} for u in before]
                         + [{"type": "track", "userId": "free-1", "event": "Signed Up", "properties": {"plan": "free"}}]})
    wait_for(lambda: space.profile_id(f"user_id:{before[-1]}") and space.profile_id("user_id:free-1"), what="early sign-ups")
    # The audiences service has logged them once a draft preview over everyone sees them.
    signed_up_pro = {"type": "event", "event": "Signed Up", "where": [{"property": "plan", "operator": "equals", "value": "pro"}]}
    wait_for(lambda: space.post("/audiences/preview", {"definition": signed_up_pro}).json()["data"]["matchedInSample"] == 150,
             what="the early events in the audiences service")
    during = [f"late-{i}" for i in range(100)]
    stop = threading.Event()

    def keep_sending():
        for start in range(0, len(during), 10):
            space.send("batch", {"batch": [{"type": "track", "userId": u, "event": "Signed Up", "properties": {"plan": "pro"}}
                                           for u in during[start:start + 10]]})
        stop.set()

    sender = threading.Thread(target=keep_sending)
    sender.start()
    created = space.create("pro_sign_ups", signed_up_pro, live=False)
    assert created["status"] == "building" and created["version"] == 1
    sender.join()
    record = space.wait_built("pro_sign_ups")
    assert record["build"]["eventsTotal"] >= 150 and record["build"]["eventsScanned"] == record["build"]["eventsTotal"]
    wait_for(lambda: space.size("pro_sign_ups") == 250, what="every pro sign-up in the audience")
    events = space.membership_events(expected=250)
    assert len(events) == 250 and len({e["profileId"] for e in events}) == 250
    assert {e["event"] for e in events} == {"Audience Entered"}
    assert {e["userId"] for e in events} == set(before + during)

    # A new version recomputes membership and emits only the differences.
    changed = space.patch("/audiences/pro_sign_ups", {"definition": {"type": "event", "event": "Signed Up"}})
    assert changed.status_code == 200 and changed.json()["data"]["version"] == 2
    record = space.wait_built("pro_sign_ups")
    assert record["liveVersion"] == 2 and record["build"]["entered"] == 1 and record["build"]["exited"] == 0
    assert space.size("pro_sign_ups") == 251
    versions = space.get("/audiences/pro_sign_ups/versions").json()["data"]
    assert [v["version"] for v in versions] == [1, 2]


def test_computed_traits_feed_audiences_and_reach_the_profile(profiles, audiences):
    space = AudienceSpace(profiles.url, audiences.url)
    space.create("orders_30d", {"type": "event_counter", "event": "Order Completed", "window": {"within": {"value": 30, "unit": "days"}}},
                 kind="computed-traits")
    space.create("lifetime_revenue", {"type": "aggregation", "aggregation": "sum", "event": "Order Completed", "property": "revenue"},
                 kind="computed-traits")
    space.create("repeat_buyers", {"type": "computed_trait", "trait": "orders_30d", "operator": "greater_or_equal", "value": 2})
    space.track("eve", "Order Completed", {"revenue": 40})
    eve = space.wait_profile_id("user_id:eve")
    wait_for(lambda: space.get(f"/profiles/{eve}/computed-traits").json()["data"] == {"orders_30d": 1, "lifetime_revenue": 40},
             what="computed traits after one order")
    assert space.size("repeat_buyers") == 0
    space.track("eve", "Order Completed", {"revenue": "12.5"})
    assert space.wait_member_ids("repeat_buyers", 1) == [eve]
    # Written back through the profiles service: they are traits in the Profile API.
    wait_for(lambda: space.profile("user_id:eve", "traits").json().get("traits", {}).get("lifetime_revenue") == 52.5,
             what="the computed trait in the Profile API")
    assert space.profile("user_id:eve", "traits").json()["traits"]["orders_30d"] == 2


def test_bad_records_go_to_the_dead_letter_topic_and_the_rest_is_applied(profiles, audiences):
    space = AudienceSpace(profiles.url, audiences.url)
    space.create("anyone_who_pinged", {"type": "event", "event": "Ping"})
    marker = uuid.uuid4().hex
    # Other readers of the topic look at spaceId first: the poison record has one, and nothing else.
    produce("engage.profile-events", "k", f'{{"spaceId": "{space.id}", "marker": "{marker}"}}')
    space.track("fay", "Ping")
    fay = space.wait_profile_id("user_id:fay")
    assert space.wait_member_ids("anyone_who_pinged", 1) == [fay]
    dead = topic_records("engage.profile-events.dlq", lambda v: marker in (v.get("value") or ""), expected=1)
    assert len(dead) == 1 and dead[0]["reason"] and dead[0]["consumerGroup"] == "engage-audiences", dead


def test_a_crash_mid_stream_loses_and_duplicates_no_membership(profiles, audiences, log_dir):
    space = AudienceSpace(profiles.url, audiences.url)
    space.create("clicked", {"type": "event", "event": "Clicked"})
    users = [f"crash-{i}" for i in range(400)]
    # A second instance shares the partitions and dies mid-stream; the session's instance takes over.
    # (Killing the session's own instance would leave later tests waiting for its group to rejoin.)
    second = ServiceProcess("audiences", log_dir).start()
    try:
        for start in range(0, len(users), 50):
            space.send("batch", {"batch": [{"type": "track", "userId": u, "event": "Clicked"} for u in users[start:start + 50]]})
            if start == 150:
                second.kill9()
        wait_for(lambda: space.size("clicked") == 400, timeout=90, what="all 400 in the audience after the crash")
    finally:
        second.terminate()
    events = space.membership_events(expected=400, timeout=90)
    # A crash can republish an outbox row: with the same id. Distinct ids are distinct entries.
    distinct = {e["id"]: e for e in events}
    assert len(distinct) == 400 and len({e["profileId"] for e in distinct.values()}) == 400
