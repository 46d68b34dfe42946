#!/usr/bin/env python3
"""Messaging benchmark: message requests produced onto engage.message-requests (as journeys and
broadcasts produce them), the messaging-send service checking each recipient's subscription,
rendering a marketing email template with merge tags and calling the local SendGrid fake, and the
message events coming back on engage.message-events.

Measured per message: request produced -> provider call received by the fake (request-to-provider
latency), and the rate at which calls reach the provider. The messaging-send process's RSS is
sampled throughout. Not a test: it asserts nothing and prints figures. Run it through
deploy/dev/bench-messaging.sh, which starts a private Postgres, broker, the provider fakes and
release builds of profiles, subscriptions and messaging-send. Before the load it measures the
machine's raw limits (raw_limits.py), and at the end states the call rates as shares of them.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import requests
from confluent_kafka import Consumer, Producer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "EndToEnd"))
from engage_harness import wait_for  # noqa: E402
from raw_limits import measure, report as report_limits  # noqa: E402

SENDGRID_KEY = "SG.fake-key-1"
TEMPLATE_HTML = ("<p>Hi {{ profile.traits.first_name | default: \"there\" }},</p>"
                 "<p>Our sale starts today for {{ profile.email }}. Plan: {{ profile.traits.plan | upcase }}.</p>"
                 "<p><a href=\"{{ unsubscribe_link }}\">Unsubscribe</a></p>")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def rss_mb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def psql(database_url, sql):
    return subprocess.run(["psql", database_url, "-AtXqc", sql], check=True, capture_output=True, text=True).stdout.split()


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def request_head(space, template):
    """The request's JSON around its three varying fields (see request_value)."""
    return json.dumps({"schemaVersion": 1, "spaceId": space, "channel": "EMAIL", "templateId": template,
                       "purpose": "marketing", "broadcastId": "bench", "test": False})[:-1]


def request_value(head, message_id, profile, occurred):
    return f'{head}, "id": "{message_id}", "profileId": "{profile}", "occurredAt": "{occurred}"}}'.encode()


def request_bytes():
    """The size of the message requests this benchmark produces, with ids of the platform's lengths
    (a prefix and 24 characters) standing in for the space's, the template's and the profiles'."""
    head = request_head("spa_" + "x" * 24, "tpl_" + "x" * 24)
    return len(request_value(head, "bench-rate-00000000", "use_" + "x" * 24, iso(time.time())))


class Setup:
    """A space with SendGrid pointed at the fake, N subscribed people (CSV upload) and a template."""

    def __init__(self, args):
        self.args = args
        admin = {"Authorization": f"Bearer {args.admin_token}"}
        self.space = requests.post(args.profiles + "/admin/spaces", json={"name": "bench"}, headers=admin).json()["id"]
        token = requests.post(f"{args.profiles}/admin/spaces/{self.space}/access-tokens", json={"name": "bench"}, headers=admin).json()["token"]
        self.auth = {"Authorization": f"Bearer {token}"}
        wait_for(lambda: requests.get(f"{args.messaging}/spaces/{self.space}/messaging/providers/sendgrid", headers=self.auth).status_code == 404,
                 timeout=300, interval=0.5, what="the space to reach messaging-send")
        saved = requests.put(f"{args.messaging}/spaces/{self.space}/messaging/providers/sendgrid", headers=self.auth,
                             json={"apiKey": SENDGRID_KEY, "baseUrl": args.fakes, "fromAddress": "news@shop.example", "fromName": "Shop",
                                   "messagesPerSecond": 10_000})
        assert saved.status_code == 200, saved.text
        created = requests.post(f"{args.messaging}/spaces/{self.space}/templates", headers=self.auth,
                                json={"name": "Sale", "channel": "EMAIL", "purpose": "marketing",
                                      "content": {"subject": "Sale for {{ profile.traits.first_name }}", "html": TEMPLATE_HTML}})
        assert created.status_code == 201, created.text
        self.template = created.json()["data"]["id"]
        self.profiles = self.people(args.people)

    def people(self, count):
        started = time.monotonic()
        lines = ["user_id,email,email_subscription_status,first_name,plan"]
        lines += [f"bench-{i},person{i}@example.com,subscribed,Person{i},plan-{i % 7}" for i in range(count)]
        response = requests.post(f"{self.args.profiles}/v1/spaces/{self.space}/csv-uploads", params={"filename": "people.csv"},
                                 data="\n".join(lines).encode(), headers={**self.auth, "Content-Type": "text/csv"})
        assert response.status_code == 202, response.text
        url = f"{self.args.profiles}/v1/spaces/{self.space}/csv-uploads/{response.json()['data']['id']}"
        wait_for(lambda: requests.get(url, headers=self.auth).json()["data"]["status"] == "completed",
                 timeout=300, interval=0.5, what="the CSV upload")
        db, space = self.args.database_url, self.space
        wait_for(lambda: int(psql(db, f"SELECT count(*) FROM messaging_send.profiles WHERE space_id = '{space}' AND email IS NOT NULL")[0]) == count
                 and int(psql(db, f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{space}' AND status = 'subscribed'")[0]) == count,
                 timeout=300, interval=0.5, what="messaging-send's replicas to hold every person and subscription")
        ids = psql(db, f"SELECT profile_id FROM messaging_send.profiles WHERE space_id = '{space}' AND merged_into IS NULL ORDER BY profile_id")
        print(f"setup: {count} subscribed people in messaging-send's replicas after {time.monotonic() - started:.1f} s")
        return ids


class EventsBack(threading.Thread):
    """Counts the acceptance events (`Email Processed`) on engage.message-events per run prefix. One
    consumer for the whole benchmark: joining a group takes seconds, which would count against a run."""

    def __init__(self, brokers):
        super().__init__(daemon=True)
        self.seen, self.last_at, self.stop = {}, {}, False
        # From the beginning, filtered by prefix: "latest" resolves the offset only after the
        # assignment, and events produced meanwhile would be missed.
        self.consumer = Consumer({"bootstrap.servers": brokers, "group.id": "bench-" + uuid.uuid4().hex, "auto.offset.reset": "earliest",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 50})
        self.consumer.subscribe(["engage.message-events"])

    def count(self, prefix):
        return len(self.seen.get(prefix, ()))

    def run(self):
        while not self.stop:
            for record in self.consumer.consume(1000, 0.2):
                if record.error():
                    continue
                value = record.value()
                if b'"Email Processed"' not in value:  # cheap: the generator shares the machine with the services
                    continue
                event = json.loads(value)
                message_id = event.get("messageId") or ""
                if event.get("event") == "Email Processed" and message_id.startswith("bench-"):
                    prefix = message_id[:message_id.rindex("-") + 1]
                    self.seen.setdefault(prefix, set()).add(message_id)
                    self.last_at[prefix] = time.time()
        self.consumer.close()


def run(args, setup, fakes, producer, events, count, rate, prefix, pid):
    """Produces `count` requests at `rate`/s (0: as fast as possible) and waits for every call and event."""
    produced_at = {}
    peak = {"rss": 0.0}
    sampling = {"on": True}

    def sample():
        while sampling["on"]:
            peak["rss"] = max(peak["rss"], rss_mb(pid, "VmRSS"))
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    started = time.time()
    # The request's JSON around its three varying fields, built once; paced in 5 ms steps rather
    # than one sleep per request, so that the generator takes little of the machine it measures.
    head = request_head(setup.space, setup.template)
    space_header = [("contract", b"message-request/1"), ("space-id", setup.space.encode())]
    step = max(1, int(rate * 0.005)) if rate else count
    for first in range(0, count, step):
        if rate:
            delay = started + first / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        now = time.time()
        occurred = iso(now)
        for i in range(first, min(first + step, count)):
            message_id = f"{prefix}{i:08d}"
            profile = setup.profiles[i % len(setup.profiles)]
            value = request_value(head, message_id, profile, occurred)
            while True:
                try:
                    producer.produce("engage.message-requests", key=profile, value=value, headers=space_header)
                    break
                except BufferError:
                    producer.poll(0.01)
            produced_at[message_id] = now
        producer.poll(0)
    producer.flush()
    produced = time.time()

    last_print = time.time()
    while True:
        # Only a count while the run goes on: listing every call would load the fake during the measurement.
        calls = requests.get(f"{fakes}/_fake/count", params={"kind": "sendgrid"}).json()["count"]
        if calls >= count and events.count(prefix) >= count:
            break
        if time.time() - last_print > 10:
            print(f"  {time.time() - started:6.1f} s  provider calls {calls}/{count}, events back {events.count(prefix)}/{count}, "
                  f"RSS {rss_mb(pid, 'VmRSS'):.0f} MB")
            last_print = time.time()
        if time.time() - produced > args.timeout:
            raise SystemExit(f"timed out: {calls} of {count} provider calls, {events.count(prefix)} events back")
        time.sleep(0.5)
    got = [r for r in requests.get(f"{fakes}/_fake/requests", params={"kind": "sendgrid"}).json()
           if (r.get("engage_message_id") or "").startswith(prefix)]
    sampling["on"] = False
    sampler.join()

    # Where the latency goes: request produced -> stored by the intake (the row's creation time).
    intake = psql(args.database_url, "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - requested_at)) "
                                     f"FROM messaging_send.messages WHERE id LIKE '{prefix}%'")
    intake_p50, intake_p99 = (float(x) for x in intake[0].strip("{}").split(","))
    # Whether the intake's tail is spread out or comes in stalls: the seconds (by request time) whose
    # slowest request took over 250 ms to be stored.
    slow = psql(args.database_url,
                "SELECT s || ':' || n || ':' || p50 || ':' || mx FROM (SELECT floor(extract(epoch FROM requested_at))::bigint AS s, "
                "count(*) AS n, round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - requested_at))) AS p50, "
                "round(1000 * max(extract(epoch FROM created_at - requested_at))) AS mx "
                f"FROM messaging_send.messages WHERE id LIKE '{prefix}%' GROUP BY 1) t WHERE mx > 250 ORDER BY s")
    slow_seconds = [f"{int(sec) - int(started)}s: n={n} p50={p50} max={mx} ms"
                    for sec, n, p50, mx in (row.split(":") for row in slow)]
    duplicates = len(got) - len({r["engage_message_id"] for r in got})
    latencies = [r["at"] - produced_at[r["engage_message_id"]] for r in got]
    first_call, last_call = min(r["at"] for r in got), max(r["at"] for r in got)
    return {
        "messages": count,
        "produce_seconds": produced - started,
        "provider_calls": len(got),
        "duplicate_calls": duplicates,
        "calls_per_second": count / (last_call - started),
        "drain_seconds": last_call - first_call,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "intake_p50_ms": intake_p50 * 1000,
        "intake_p99_ms": intake_p99 * 1000,
        "events_back_seconds": events.last_at.get(prefix, last_call) - started,
        "peak_rss_mb": peak["rss"],
        "slow_seconds": slow_seconds,
    }


def report(label, result):
    print(f"{label}: {result['messages']} messages produced in {result['produce_seconds']:.1f} s; "
          f"{result['provider_calls']} provider calls ({result['duplicate_calls']} duplicates) = {result['calls_per_second']:,.0f} msg/s "
          f"from first request to last call; request->provider p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
          f"max {result['max_ms']:.0f} ms (of which request->stored p50 {result['intake_p50_ms']:.0f} ms, p99 {result['intake_p99_ms']:.0f} ms); all events back after {result['events_back_seconds']:.1f} s; "
          f"messaging-send RSS peak {result['peak_rss_mb']:.0f} MB")
    if result["slow_seconds"]:
        print(f"  seconds with a request stored more than 250 ms after it was produced: {'; '.join(result['slow_seconds'][:30])}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", required=True)
    parser.add_argument("--messaging", required=True)
    parser.add_argument("--fakes", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--messaging-pid", type=int, required=True)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=2_000, help="sustained run: requests/s (open loop)")
    parser.add_argument("--seconds", type=float, default=60, help="sustained run: how long requests are produced")
    parser.add_argument("--burst", type=int, default=50_000, help="burst run: requests produced at once (0: skip)")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    # Before the load, while the services are idle.
    limits = measure(args.brokers, args.database_url, request_bytes())
    setup = Setup(args)

    requests.post(f"{args.fakes}/_fake/config", json={"record_bodies": False})
    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 5, "acks": "all", "queue.buffering.max.messages": 500_000})

    events = EventsBack(args.brokers)
    events.start()
    report("warm-up", run(args, setup, args.fakes, producer, events, 2_000, 0, "bench-warm-", args.messaging_pid))
    requests.post(f"{args.fakes}/_fake/reset")
    requests.post(f"{args.fakes}/_fake/config", json={"record_bodies": False})
    sustained = int(args.rate * args.seconds)
    label = f"sustained {args.rate:,.0f} requests/s for {args.seconds:.0f} s"
    result = run(args, setup, args.fakes, producer, events, sustained, args.rate, "bench-rate-", args.messaging_pid)
    report(label, result)
    figures = [(f"messaging {label}", result["calls_per_second"], "msg/s")]
    if args.burst:
        requests.post(f"{args.fakes}/_fake/reset")
        requests.post(f"{args.fakes}/_fake/config", json={"record_bodies": False})
        label = f"burst of {args.burst} requests at once"
        result = run(args, setup, args.fakes, producer, events, args.burst, 0, "bench-burst-", args.messaging_pid)
        report(label, result)
        figures.append((f"messaging {label}", result["calls_per_second"], "msg/s"))
    events.stop = True
    events.join()
    print(f"messaging-send peak RSS over the whole run (VmHWM): {rss_mb(args.messaging_pid, 'VmHWM'):.0f} MB")
    report_limits(limits, figures)


if __name__ == "__main__":
    main()
