#!/usr/bin/env python3
"""Ingestion benchmark: drives POST /v1/batch from this (separate) process and measures, per event,
the time from sending its request to its resolved event arriving on engage.profile-events (which
the profiles service publishes only after the event and its profile are committed to Postgres).

Not a test: it asserts nothing and prints figures. Run it through deploy/dev/bench.sh, which starts
a private Postgres, broker and a release build of the profiles service. Before the load it measures
the machine's raw limits (raw_limits.py), and at the end states its rates as shares of them.
"""
import argparse
import base64
import json
import statistics
import threading
import time
import uuid
from datetime import datetime

import requests
from confluent_kafka import Consumer

from raw_limits import measure, report

# Placeholders of the platform's id lengths (a prefix and 24 characters) and timestamp format, for
# the size of the records this path publishes.
SPACE_ID, SOURCE_ID, PROFILE_ID = "spa_" + "x" * 24, "src_" + "x" * 24, "use_" + "x" * 24
STAMP = "2026-01-01T00:00:00.000Z"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def batch_messages(run, index, batch, users, sent):
    """The Segment messages of batch `index`, each with its send time."""
    return [{
        "type": "track" if n % 5 else "identify",
        "userId": f"user-{(index * batch + n) % users}",
        "event": "Product Viewed",
        "traits": {"plan": "pro", "seen": index},
        "properties": {"run": run, "sent": sent, "sku": f"sku-{n}", "price": 9.99},
        "messageId": f"{run}-{index}-{n}",
    } for n in range(batch)]


def profile_event_bytes(messages):
    """The mean size of the profile events the profiles service publishes for `messages` (and writes
    to its outbox): a ProfileEvent (Shared/Contracts/ProfileEvents.swift) around each normalised
    message, compact JSON. A model of the record, not a copy of one: about right, which is all the
    raw limits need."""
    sizes = []
    for message in messages:
        message_id = message.get("messageId") or str(uuid.uuid4())
        normalised = {**message, "messageId": message_id, "timestamp": STAMP, "receivedAt": STAMP}
        event = {"schemaVersion": 1, "id": f"{SPACE_ID}:{message_id}", "spaceId": SPACE_ID, "sourceId": SOURCE_ID,
                 "profileId": PROFILE_ID, "occurredAt": STAMP,
                 "externalIds": [{"type": "user_id", "id": message["userId"], "collection": "users", "encoding": "none"}],
                 "message": normalised}
        sizes.append(len(json.dumps(event, separators=(",", ":"))))
    return round(statistics.mean(sizes))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--write-key", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--database", required=True, help="postgres://... of the services' Postgres, for the raw limits")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--users", type=int, default=20_000, help="distinct people the events belong to")
    parser.add_argument("--fetch-wait-ms", type=int, default=500,
                        help="this consumer's fetch.wait.max.ms (librdkafka's default is 500)")
    parser.add_argument("--rate", type=float, default=0,
                        help="target events/s (open loop: batches start on schedule); 0 sends as fast as acknowledgements allow")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    # Before the load, while the services are idle; events of the size of this run's profile events.
    limits = measure(args.brokers, args.database, profile_event_bytes(batch_messages(run, 0, args.batch, args.users, time.time())))
    latencies_ms, request_ms = [], []
    # Per event, where its time went: (total, sent -> received by the API, received -> published
    # by the outbox relay (broker CreateTime of the profile event), published -> read here).
    hops = []
    received = set()
    done = threading.Event()
    assigned = threading.Event()
    last_arrival = [0.0]

    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": "bench-" + run, "auto.offset.reset": "latest",
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, "enable.auto.commit": False,
                         "fetch.wait.max.ms": args.fetch_wait_ms})
    consumer.subscribe(["engage.profile-events"], on_assign=lambda c, p: assigned.set())

    def consume():
        while not done.is_set():
            # A short timeout: consume() returns when it has all it asked for or the timeout has
            # passed, so a long one would add up to that much to every event's measured latency.
            for message in consumer.consume(1000, 0.005):
                if message.error():
                    continue
                event = json.loads(message.value())
                properties = event["message"].get("properties") or {}
                if properties.get("run") != run or event["id"] in received:
                    continue
                received.add(event["id"])
                now = time.time()
                latencies_ms.append((now - properties["sent"]) * 1000)
                received_at = datetime.fromisoformat(event["message"]["receivedAt"]).timestamp()
                published = message.timestamp()[1] / 1000
                hops.append(((now - properties["sent"]) * 1000, (received_at - properties["sent"]) * 1000,
                             (published - received_at) * 1000, (now - published) * 1000, properties["sent"]))
                last_arrival[0] = now
                if len(received) >= args.events:
                    done.set()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    while not assigned.is_set():
        time.sleep(0.05)  # the reader's poll drives the group join; wait for its assignment
    time.sleep(1)

    auth = {"Authorization": "Basic " + base64.b64encode(f"{args.write_key}:".encode()).decode(),
            "Content-Type": "application/json"}
    batches = args.events // args.batch
    next_batch = [0]
    lock = threading.Lock()
    errors = [0]

    def send():
        session = requests.Session()
        while True:
            with lock:
                index = next_batch[0]
                next_batch[0] += 1
            if index >= batches:
                return
            if args.rate:
                due = started + index * args.batch / args.rate
                delay = due - time.time()
                if delay > 0:
                    time.sleep(delay)
            sent = time.time()
            body = {"batch": batch_messages(run, index, args.batch, args.users, sent)}
            while True:
                start = time.time()
                response = session.post(args.url + "/v1/batch", data=json.dumps(body), headers=auth, timeout=30)
                request_ms.append((time.time() - start) * 1000)
                if response.status_code == 200:
                    break
                errors[0] += 1
                time.sleep(0.1)

    started = time.time()
    senders = [threading.Thread(target=send) for _ in range(args.concurrency)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    sent_done = time.time()
    done.wait(timeout=300)
    done.set()
    reader.join(timeout=5)
    consumer.close()

    total = batches * args.batch
    elapsed = (last_arrival[0] or time.time()) - started
    print(json.dumps({
        "events": total,
        "received_on_profile_events": len(received),
        "batch_size": args.batch,
        "target_rate": args.rate or "unlimited",
        "fetch_wait_ms": args.fetch_wait_ms,
        "concurrency": args.concurrency,
        "ingest_seconds": round(sent_done - started, 2),
        "accepted_events_per_second": round(total / (sent_done - started)),
        "end_to_end_seconds": round(elapsed, 2),
        "end_to_end_events_per_second": round(len(received) / elapsed),
        "event_latency_ms": {"p50": round(percentile(latencies_ms, 0.5), 1), "p99": round(percentile(latencies_ms, 0.99), 1),
                             "max": round(max(latencies_ms), 1)} if latencies_ms else None,
        "request_latency_ms": {"p50": round(percentile(request_ms, 0.5), 1), "p99": round(percentile(request_ms, 0.99), 1)},
        "http_errors_retried": errors[0],
        "hops_ms": hop_summary(hops),
        "slow_seconds": slow_seconds(hops, started),
    }, indent=2))
    load = f"ingest at {args.rate:,.0f} ev/s" if args.rate else "ingest closed loop"
    report(limits, [(f"{load}, accepted", total / (sent_done - started), "ev/s"),
                    (f"{load}, end to end", len(received) / elapsed, "ev/s")])


def slow_seconds(hops, started):
    """The seconds of the run (by when events were sent) whose slowest event took over 250 ms: whether
    the tail is spread out (queueing) or comes in stalls that hold everything in flight."""
    by_second = {}
    for hop in hops:
        by_second.setdefault(int(hop[4] - started), []).append(hop[0])
    return [f"{second}s: n={len(values)} p50={percentile(values, 0.5):.0f} max={max(values):.0f} ms"
            for second, values in sorted(by_second.items()) if max(values) > 250]


def hop_summary(hops):
    """p50 and p99 of each hop, and where the slowest 1 % of events spent their time (mean per hop)."""
    if not hops:
        return None
    names = ["sent_to_received", "received_to_published", "published_to_read"]
    threshold = percentile([h[0] for h in hops], 0.99)
    tail = [h for h in hops if h[0] >= threshold]
    summary = {}
    for index, name in enumerate(names, start=1):
        values = [h[index] for h in hops]
        summary[name] = {"p50": round(percentile(values, 0.5), 1), "p99": round(percentile(values, 0.99), 1),
                         "mean_in_slowest_1pct": round(statistics.mean(h[index] for h in tail), 1)}
    return summary


if __name__ == "__main__":
    main()
