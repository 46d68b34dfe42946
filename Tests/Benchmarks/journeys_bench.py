"""Journeys benchmark: a broadcast to a 100,000-profile audience, and 100,000 timers due at once.

Run through deploy/dev/bench-journeys.sh, which starts everything (profiles for the space and its
token, journeys, a private Postgres and broker).

Phase 1 (broadcast): --profiles-count audience memberships and one template are produced onto
engage.audience-membership and engage.templates (as the audiences and messaging services write
them); once journeys' estimate shows the whole audience, a broadcast is created through the API.
Result: the time from the API's answer to the broker time of the last of its message requests.

Phase 2 (timers): --timers profiles are placed inside a published journey (straight into its
tables: the benchmark is of the timer engine, not of entries), all waiting on one step due at the
same instant. Result: per timer, lateness = when its step completed minus when it was due, at the
claim (the journey event's occurredAt) and as seen downstream (the event's broker time); p50, p99
and max.

Before the load it measures the machine's raw limits (raw_limits.py), and at the end states the
broadcast's and the timers' rates as shares of them.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time
import uuid

import requests
from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "EndToEnd"))
from engage_harness import wait_for  # noqa: E402
from events_source_helpers import Producer  # noqa: E402
from raw_limits import measure, report  # noqa: E402


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def psql(database, sql):
    subprocess.run(["psql", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def space(profiles, admin_token):
    admin = {"Authorization": f"Bearer {admin_token}"}
    space_id = requests.post(f"{profiles}/admin/spaces", json={"name": "bench"}, headers=admin).json()["id"]
    token = requests.post(f"{profiles}/admin/spaces/{space_id}/access-tokens", json={"name": "bench"}, headers=admin).json()["token"]
    return space_id, {"Authorization": f"Bearer {token}"}


def consumer_at_end(brokers, topic):
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "bench-" + uuid.uuid4().hex, "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    assignment = []
    for partition in partitions:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        assignment.append(TopicPartition(topic, partition, high))
    consumer.assign(assignment)
    return consumer


def collect(consumer, match, count, timeout):
    """(value, broker timestamp in seconds) of the first `count` matching records."""
    found, deadline = [], time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.5):
            if message.error():
                continue
            value = json.loads(message.value())
            if match(value):
                found.append((value, message.timestamp()[1] / 1000))
    return found


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def membership(space_id, audience, pid, now):
    """An `Audience Entered` as the audiences service writes it."""
    return {"schemaVersion": 1, "id": f"{space_id}:{audience}:{pid}:1", "spaceId": space_id, "event": "Audience Entered",
            "audienceId": audience, "audienceKey": "bench", "audienceName": "Bench", "audienceVersion": 1, "profileId": pid,
            "anonymousIds": [], "traits": {}, "reason": "backfill", "occurredAt": now}


def event_bytes():
    """The size of the memberships this benchmark produces (as Producer.send writes them), with a space
    id of the platform's length: the records of the broadcast's input. Its output (message requests)
    and the timers' journey events are records of the same few hundred bytes."""
    return len(json.dumps(membership("spa_" + "x" * 24, "aud_bench_00000000", "use_bench_0000000", iso(time.time()))))


def broadcast_phase(args, space_id, auth):
    producer = Producer(args.brokers, **{"linger.ms": 20, "batch.num.messages": 10000})
    template = f"tpl_bench_{uuid.uuid4().hex[:8]}"
    producer.send("engage.templates", f"{space_id}|{template}", {
        "schemaVersion": 1, "id": f"{space_id}:{template}:1", "spaceId": space_id, "templateId": template, "name": "Bench",
        "channel": "EMAIL", "purpose": "marketing", "currentVersion": 1, "deleted": False, "occurredAt": iso(time.time())},
        headers=[("contract", "template-change/1")])
    audience = f"aud_bench_{uuid.uuid4().hex[:8]}"
    now = iso(time.time())
    producer.send("engage.audiences", f"{space_id}|{audience}", {
        "schemaVersion": 1, "id": f"{space_id}:{audience}:1:Bench", "spaceId": space_id, "audienceId": audience,
        "audienceKey": "bench", "name": "Bench", "currentVersion": 1, "deleted": False, "occurredAt": now},
        headers=[("contract", "audience-change/1")])
    for i in range(args.profiles_count):
        pid = f"use_bench_{i:07d}"
        producer.send("engage.audience-membership", pid, membership(space_id, audience, pid, now),
                      headers=[("contract", "audience-membership/1")])
    producer.flush(120)
    wait_for(lambda: requests.get(f"{args.journeys}/spaces/{space_id}/broadcasts/estimate", params={"audienceId": audience},
                                  headers=auth).json()["data"]["recipients"] == args.profiles_count,
             timeout=600, interval=1, what="the audience to reach journeys")
    consumer = consumer_at_end(args.brokers, "engage.message-requests")
    started = time.time()
    created = requests.post(f"{args.journeys}/spaces/{space_id}/broadcasts", headers=auth,
                            json={"name": "Bench", "audienceId": audience, "channel": "EMAIL", "templateId": template})
    assert created.status_code == 201, created.text
    broadcast = created.json()["data"]["id"]
    records = collect(consumer, lambda r: r.get("broadcastId") == broadcast, args.profiles_count, timeout=600)
    consumer.close()
    last = max(ts for _, ts in records)
    distinct = len({value["id"] for value, _ in records})
    record = requests.get(f"{args.journeys}/spaces/{space_id}/broadcasts/{broadcast}", headers=auth).json()["data"]
    print(f"broadcast: created {iso(started)}, started {record['startedAt']}, all requested {record['finishedAt']}, "
          f"last on the topic {iso(last)}")
    print(f"broadcast: {len(records)} message requests ({distinct} distinct) for a {args.profiles_count}-profile audience "
          f"in {last - started:.2f} s ({len(records) / (last - started):,.0f}/s)")
    return ("broadcast, message requests", len(records) / (last - started), "req/s")


def timers_phase(args, space_id, auth):
    hold = 3_600
    definition = {"entry": {"type": "event", "event": "Bench Timer"}, "start": "hold",
                  "steps": [{"id": "hold", "type": "wait", "seconds": hold, "next": "tag"},
                            {"id": "tag", "type": "destination", "topic": "bench.journey-context", "next": None}]}
    journey = requests.post(f"{args.journeys}/spaces/{space_id}/journeys", json={"name": "Timers", "definition": definition},
                            headers=auth).json()["data"]["id"]
    published = requests.post(f"{args.journeys}/spaces/{space_id}/journeys/{journey}/publish", headers=auth)
    assert published.status_code == 200, published.text
    # Everyone entered the hold step an hour before the due moment, a few seconds from now.
    due = time.time() + args.lead_seconds
    entered = iso(due - hold)
    n = args.timers
    psql(args.database, f"""
        INSERT INTO journeys.instances (space_id, id, journey_id, version, profile_id, status, trigger, entered_at)
        SELECT '{space_id}', 'ji_bench_' || g, '{journey}', 1, 'use_timer_' || g, 'active', '{{}}', '{entered}' FROM generate_series(1, {n}) g;
        INSERT INTO journeys.entries (space_id, journey_id, profile_id, entered, active, last_entered_at)
        SELECT '{space_id}', '{journey}', 'use_timer_' || g, 1, 1, '{entered}' FROM generate_series(1, {n}) g;
        INSERT INTO journeys.paths (space_id, instance_id, path_id, journey_id, version, profile_id, step_id, status, step_entered_at, due_at)
        SELECT '{space_id}', 'ji_bench_' || g, 'p', '{journey}', 1, 'use_timer_' || g, 'hold', 'waiting', '{entered}', '{iso(due)}'
        FROM generate_series(1, {n}) g;
        ANALYZE journeys.paths;
        """)
    seeded = time.time()
    assert seeded < due, f"seeding took too long: raise --lead-seconds (seeded {seeded - due:.1f} s after the due time)"
    consumer = consumer_at_end(args.brokers, "engage.journey-events")
    records = collect(consumer, lambda e: e.get("journeyId") == journey and e["event"] == "Journey Step Completed" and e.get("stepId") == "hold",
                      n, timeout=900)
    consumer.close()
    claim = [parse(value["occurredAt"]) - due for value, _ in records]
    visible = [ts - due for _, ts in records]
    print(f"timers: {len(records)} of {n} due at one instant")
    print(f"  lateness at the claim:   p50 {percentile(claim, 0.5):.2f} s, p99 {percentile(claim, 0.99):.2f} s, max {max(claim):.2f} s")
    print(f"  lateness downstream:     p50 {percentile(visible, 0.5):.2f} s, p99 {percentile(visible, 0.99):.2f} s, max {max(visible):.2f} s")
    print(f"  throughput: {len(records) / max(max(visible), 0.001):,.0f} timers/s")
    return ("timers due at once", len(records) / max(max(visible), 0.001), "timers/s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", required=True)
    parser.add_argument("--journeys", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--admin-token", default="bench")
    parser.add_argument("--profiles-count", type=int, default=100_000)
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--lead-seconds", type=float, default=40, help="seconds from seeding to the due instant: enough for a burst to be claimed ahead (100,000 take about 20 s here)")
    parser.add_argument("--phase", choices=["all", "broadcast", "timers"], default="all")
    args = parser.parse_args()
    # Before the load, while the services are idle.
    limits = measure(args.brokers, args.database, event_bytes())
    figures = []
    space_id, auth = space(args.profiles, args.admin_token)
    wait_for(lambda: requests.get(f"{args.journeys}/spaces/{space_id}/journeys", headers=auth).status_code == 200, timeout=60,
             what="the space's token to reach journeys")
    if args.phase in ("all", "broadcast"):
        figures.append(broadcast_phase(args, space_id, auth))
    if args.phase in ("all", "timers"):
        figures.append(timers_phase(args, space_id, auth))
    report(limits, figures)


if __name__ == "__main__":
    main()
