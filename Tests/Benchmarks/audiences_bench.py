"""Audiences benchmark: latency from a tracking call to its `Audience Entered` on
engage.audience-membership, with N profiles and 20 live audiences, at given event rates; then the
speed of a backfill over a stored history of M events.

Run through deploy/dev/bench-audiences.sh, which starts everything. Per rate: a mix of tracking
calls (/v1/batch, rate/100 events per call, at least 10) in which one event per call is a probe, a user's first `Checkout Started`,
each of which makes that user enter `checkout_started`; the probe's latency is the time from the
call to the broker timestamp of its `Audience Entered`. Before the load it measures the machine's
raw limits (raw_limits.py), and at the end states the event rates as shares of them.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid

import requests
from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "EndToEnd"))
from engage_harness import wait_for  # noqa: E402
from ingest_bench import profile_event_bytes  # noqa: E402
from raw_limits import measure, report  # noqa: E402

BACKGROUND_EVENTS = ["Clicked", *[f"Page Viewed {i}" for i in range(8)]]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def psql(database_url, sql):
    return subprocess.run(["psql", database_url, "-AtXqc", sql], check=True, capture_output=True, text=True).stdout.split()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# Nineteen background audiences: windows and counts, filters, traits, nested logic, NOT, audience of
# audience, a computed trait. The twentieth, checkout_started, is the measured one.
def probe_event(user):
    """A user's first `Checkout Started`: makes them enter checkout_started."""
    return {"type": "track", "userId": user, "event": "Checkout Started", "properties": {"cart": 0}}


def background_event(user, name, price):
    return {"type": "track", "userId": user, "event": name, "properties": {"price": price}}


def event_bytes(people):
    """The mean size of the profile events a call of this benchmark's mix becomes (the records of the
    path into the audiences service), modelled as in ingest_bench."""
    batch = [probe_event("u0")] + [background_event(f"u{random.randrange(people)}", random.choice(BACKGROUND_EVENTS),
                                                     random.randrange(60)) for _ in range(99)]
    return profile_event_bytes(batch)


def background_audiences():
    result = []
    for i in range(8):
        result.append((f"viewed_{i}", {"type": "event", "event": f"Page Viewed {i}", "count": {"operator": "at_least", "value": 2 + i % 3},
                                       "window": {"within": {"value": 7, "unit": "days"}}}))
    for i in range(4):
        result.append((f"clicked_cheap_{i}", {"type": "and", "conditions": [
            {"type": "event", "event": "Clicked", "where": [{"property": "price", "operator": "less_than", "value": 20 + i * 10}]},
            {"type": "not", "condition": {"type": "event", "event": f"Page Viewed {i}", "window": {"within": {"value": 1, "unit": "days"}}}}]}))
    for i in range(4):
        result.append((f"plan_{i}", {"type": "trait", "trait": "plan", "operator": "equals", "value": f"plan-{i}"}))
    result.append(("plan_0_viewers", {"type": "and", "conditions": [{"type": "audience", "audience": "plan_0"},
                                                                    {"type": "audience", "audience": "viewed_0"}]}))
    result.append(("big_clickers", {"type": "computed_trait", "trait": "clicks_7d", "operator": "greater_or_equal", "value": 3}))
    result.append(("any_country", {"type": "or", "conditions": [
        {"type": "trait", "trait": "country", "operator": "in", "value": ["NO", "SE"]},
        {"type": "and", "conditions": [{"type": "trait", "trait": "country", "operator": "exists"},
                                       {"type": "not", "condition": {"type": "trait", "trait": "plan", "operator": "equals", "value": "plan-6"}}]}]}))
    return result


class Bench:
    def __init__(self, args):
        self.args = args
        admin = {"Authorization": f"Bearer {args.admin_token}"}
        self.space = requests.post(args.profiles + "/admin/spaces", json={"name": "bench"}, headers=admin).json()["id"]
        token = requests.post(f"{args.profiles}/admin/spaces/{self.space}/access-tokens", json={"name": "bench"}, headers=admin).json()["token"]
        source = requests.post(f"{args.profiles}/admin/spaces/{self.space}/sources", json={"name": "bench"}, headers=admin).json()
        self.write = (source["writeKey"], "")
        self.auth = {"Authorization": f"Bearer {token}"}
        self.session = threading.local()
        wait_for(lambda: requests.get(self.url("/audiences"), headers=self.auth).status_code == 200,
                 timeout=300, interval=0.5, what="the space to reach the audiences service")

    def url(self, path):
        return f"{self.args.audiences}/spaces/{self.space}{path}"

    def create(self, kind, key, definition):
        response = requests.post(self.url(f"/{kind}"), headers=self.auth, json={"key": key, "name": key, "definition": definition})
        assert response.status_code == 201, response.text

    def built(self, kind, key):
        body = requests.get(self.url(f"/{kind}/{key}"), headers=self.auth).json()["data"]
        return body["status"] == "live" and body["build"]["phase"] == "done" and body

    def seed(self, count):
        started = time.monotonic()
        lines = ["user_id,email,plan,country"]
        lines += [f"u{i},person{i}@example.com,plan-{i % 7},{['NO', 'SE', 'DK', 'FI'][i % 4]}" for i in range(count)]
        response = requests.post(f"{self.args.profiles}/v1/spaces/{self.space}/csv-uploads", params={"filename": "people.csv"},
                                 data="\n".join(lines).encode(), headers={**self.auth, "Content-Type": "text/csv"})
        assert response.status_code == 202, response.text
        upload = f"{self.args.profiles}/v1/spaces/{self.space}/csv-uploads/{response.json()['data']['id']}"
        wait_for(lambda: requests.get(upload, headers=self.auth).json()["data"]["status"] == "completed",
                 timeout=900, interval=1, what="the CSV upload")
        db, space = self.args.database_url, self.space
        wait_for(lambda: int(psql(db, f"SELECT count(*) FROM audiences.profile_state WHERE space_id = '{space}' AND user_id IS NOT NULL "
                                      "AND traits ? 'country'")[0]) == count,
                 timeout=900, interval=1, what="every profile in the audiences service")
        print(f"setup: {count} profiles in the audiences service after {time.monotonic() - started:.1f} s", flush=True)

    def define(self):
        self.create("computed-traits", "clicks_7d", {"type": "event_counter", "event": "Clicked", "window": {"within": {"value": 7, "unit": "days"}}})
        for key, definition in background_audiences():
            self.create("audiences", key, definition)
        self.create("audiences", "checkout_started", {"type": "event", "event": "Checkout Started", "window": {"within": {"value": 7, "unit": "days"}}})
        keys = [key for key, _ in background_audiences()] + ["checkout_started"]
        wait_for(lambda: all(self.built("audiences", key) for key in keys), timeout=900, interval=1, what="20 audiences live")
        print(f"setup: {len(keys)} live audiences and 1 computed trait", flush=True)

    def post_batch(self, batch):
        session = getattr(self.session, "value", None) or requests.Session()
        self.session.value = session
        response = session.post(f"{self.args.profiles}/v1/batch", json={"batch": batch}, auth=self.write)
        assert response.status_code == 200, response.text

    def run(self, rate, seconds, probes_from):
        """Sends `rate` events/s for `seconds`, one probe per tracking call. Returns the report."""
        consumer = Consumer({"bootstrap.servers": self.args.brokers, "group.id": "bench-" + uuid.uuid4().hex,
                             "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        assignment = []
        for topic in ["engage.audience-membership", "engage.profile-events"]:
            for partition in consumer.list_topics(topic).topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition))
                assignment.append(TopicPartition(topic, partition, high))
        consumer.assign(assignment)
        # Where the time goes: the probe's profile event on engage.profile-events splits the path
        # into the profiles service's half and the audiences service's half.
        sent, resolved, entered, lock = {}, {}, {}, threading.Lock()
        done = threading.Event()

        def collect():
            while not done.is_set() or len(entered) < len(sent):
                message = consumer.poll(0.1)
                if message is None or message.error():
                    if done.is_set() and time.monotonic() > collect.deadline:
                        return
                    continue
                value = message.value()
                if message.topic() == "engage.profile-events":
                    if b'"Checkout Started"' in value:
                        event = json.loads(value)
                        if event["spaceId"] == self.space:
                            with lock:
                                resolved.setdefault(event["message"]["userId"], message.timestamp()[1] / 1000)
                    continue
                if b'"checkout_started"' not in value or b'"Audience Entered"' not in value:
                    continue
                event = json.loads(value)
                if event["spaceId"] == self.space and event["audienceKey"] == "checkout_started":
                    with lock:
                        entered.setdefault(event["userId"], message.timestamp()[1] / 1000)
        collect.deadline = float("inf")
        collector = threading.Thread(target=collect)
        collector.start()
        # One probe per call; bigger calls at higher rates keep the load generator off the cores.
        per_call, total = max(10, rate // 100), rate * seconds
        interval = per_call / rate
        probe = probes_from
        random.seed(rate)
        started = time.monotonic()
        calls = 0

        def sender(offset, threads):
            nonlocal probe
            index = offset
            while index * per_call < total:
                due = started + index * interval
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                batch = []
                for slot in range(per_call):
                    if slot == 0:
                        with lock:
                            user, probe = f"u{probe}", probe + 1
                        batch.append(probe_event(user))
                        probe_user = user
                    else:
                        user = f"u{random.randrange(self.args.people)}"
                        batch.append(background_event(user, random.choice(BACKGROUND_EVENTS), random.randrange(60)))
                at = time.time()
                self.post_batch(batch)
                with lock:
                    sent[probe_user] = at
                index += threads
        threads = [threading.Thread(target=sender, args=(i, 8)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        done.set()
        collect.deadline = time.monotonic() + 60
        collector.join()
        consumer.close()
        latencies = [entered[user] - at for user, at in sent.items() if user in entered]
        profiles_half = [resolved[user] - at for user, at in sent.items() if user in resolved]
        audiences_half = [entered[user] - resolved[user] for user in sent if user in resolved and user in entered]
        members = requests.get(self.url("/audiences/checkout_started/size"), headers=self.auth).json()["data"]["size"]
        return {"members": members,
                "profiles_p50": percentile(profiles_half, 0.5), "profiles_p99": percentile(profiles_half, 0.99),
                "audiences_p50": percentile(audiences_half, 0.5), "audiences_p99": percentile(audiences_half, 0.99),"rate": rate, "seconds": seconds, "sent_events": total, "send_seconds": elapsed, "probes": len(sent),
                "entered": len(latencies), "p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
                "p99": percentile(latencies, 0.99), "max": max(latencies) if latencies else float("nan")}

    def backfill(self, events):
        db, space = self.args.database_url, self.space
        started = time.monotonic()
        psql(db, f"""
            INSERT INTO audiences.event_log (space_id, profile_id, message_id, name, occurred_at, properties)
            SELECT '{space}', p.ids[1 + (i % array_length(p.ids, 1))], 'history-' || i, 'Historic Purchase ' || (i % 4),
                   now() - (i % 60) * interval '1 day', jsonb_build_object('amount', i % 100, 'sku', 'sku-' || (i % 1000))
            FROM (SELECT array_agg(profile_id) AS ids FROM audiences.profile_state WHERE space_id = '{space}' AND merged_into IS NULL) p,
                 generate_series(1, {events}) i""")
        psql(db, "VACUUM ANALYZE audiences.event_log")
        print(f"backfill: {events} events stored in the event log in {time.monotonic() - started:.1f} s", flush=True)
        # The new audience reads a quarter of them (one of four event names), filters on a property.
        definition = {"type": "event", "event": "Historic Purchase 1", "count": {"operator": "at_least", "value": 2},
                      "window": {"within": {"value": 90, "unit": "days"}}, "where": [{"property": "amount", "operator": "greater_than", "value": 10}]}
        results = []
        for key, body in [("history_buyers", definition),
                          ("history_any", {"type": "or", "conditions": [{"type": "event", "event": f"Historic Purchase {i}"} for i in range(4)]})]:
            started = time.monotonic()
            self.create("audiences", key, body)
            record = wait_for(lambda: self.built("audiences", key), timeout=900, interval=0.2, what=f"{key} built")
            took = time.monotonic() - started
            build = record["build"]
            size = requests.get(self.url(f"/audiences/{key}/size"), headers=self.auth).json()["data"]["size"]
            results.append({"audience": key, "seconds": took, "events_scanned": build["eventsScanned"],
                            "profiles_evaluated": build["profilesEvaluated"], "entered": build["entered"], "size": size})
        return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", required=True)
    parser.add_argument("--audiences", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--admin-token", default="bench")
    parser.add_argument("--audiences-pid", type=int)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--rates", default="1000,5000")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--backfill-events", type=int, default=1_000_000)
    args = parser.parse_args()
    # Before the load, while the services are idle.
    limits = measure(args.brokers, args.database_url, event_bytes(args.people))
    figures = []
    bench = Bench(args)
    bench.seed(args.people)
    bench.define()
    probes_from = 0
    for rate in [int(r) for r in args.rates.split(",") if r]:
        result = bench.run(rate, args.seconds, probes_from)
        probes_from += result["probes"]
        print(f"rate {rate}/s for {args.seconds} s: sent {result['sent_events']} events in {result['send_seconds']:.1f} s; "
              f"{result['entered']}/{result['probes']} probes entered; tracking call -> Audience Entered "
              f"p50 {result['p50'] * 1000:.0f} ms, p95 {result['p95'] * 1000:.0f} ms, p99 {result['p99'] * 1000:.0f} ms, "
              f"max {result['max'] * 1000:.0f} ms; call -> profile event p50 {result['profiles_p50'] * 1000:.0f} ms, "
              f"p99 {result['profiles_p99'] * 1000:.0f} ms; profile event -> Audience Entered p50 {result['audiences_p50'] * 1000:.0f} ms, "
              f"p99 {result['audiences_p99'] * 1000:.0f} ms; {result['members']} members in checkout_started", flush=True)
        figures.append((f"audiences at {rate:,} ev/s, sent", result["sent_events"] / result["send_seconds"], "ev/s"))
    if args.backfill_events:
        for result in bench.backfill(args.backfill_events):
            print(f"backfill {result['audience']}: {result['seconds']:.1f} s from create to live and evaluated; "
                  f"{result['events_scanned']} events scanned, {result['profiles_evaluated']} profiles evaluated, "
                  f"{result['entered']} entered (size {result['size']})", flush=True)
            figures.append((f"backfill {result['audience']}, stored events scanned", result["events_scanned"] / result["seconds"], "ev/s"))
    if args.audiences_pid:
        print(f"audiences peak RSS: {rss_mb(args.audiences_pid):.0f} MB", flush=True)
    report(limits, figures)


if __name__ == "__main__":
    main()
