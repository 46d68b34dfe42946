"""Events-source benchmark: message events in -> Segment track events on engage.source-events, and
webhook deliveries to a local receiver.

Run through deploy/dev/bench-events-source.sh, which starts everything. Phase 1 (topic): a backlog
of --events message events (as messaging-send writes them, over --people profiles) is produced at
once; the rate is events / (last source event's broker time - first message event's produce time).
Phase 2 (webhooks): a destination taking every event points at a local receiver (its own process,
HTTP/1.1 keep-alive, every signature verified); --webhook-events more message events are produced
and the delivery rate is measured at the receiver. Before the load it measures the machine's raw
limits (raw_limits.py), and at the end states the rates as shares of them.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import sys
import time
import uuid

import requests
from confluent_kafka import Consumer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "EndToEnd"))
from engage_harness import wait_for  # noqa: E402
from events_source_helpers import Producer, message_event  # noqa: E402
from raw_limits import measure, report  # noqa: E402

NAMES = ["Email Processed", "Email Delivered", "Email Opened", "Email Link Clicked"]


def receiver_main(port, secret, counters, ready):
    """A minimal keep-alive HTTP/1.1 server: answers 200 to every POST with a valid signature. Listens
    on a port the system picks and says which in `port` (a shared value)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode().split("\r\n")[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
                expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
                ok = expected in headers.get("webhook-signature", "").split(" ")
                with counters.get_lock():
                    counters[0 if ok else 1] += 1
                    if counters[2] == 0:
                        counters[2] = time.time()
                    counters[3] = time.time()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" if ok else
                             b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port.value = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def backlog_event(space_id, i, people, prefix):
    """The backlog's event i and its key (its profile)."""
    pid = f"{prefix}-p{i % people}"
    message = f"{prefix}-m{i // 4}"
    return pid, message_event(space_id, NAMES[i % 4], message, pid, f"{pid}@example.com", suffix=f"e{i}",
                              url="https://shop.example/x" if i % 4 == 3 else None)


def event_bytes(people):
    """The mean size of the message events this benchmark produces (as Producer.send writes them),
    with a space id of the platform's length."""
    events = [backlog_event("spa_" + "x" * 24, i, people, "t" + "0" * 6)[1] for i in range(1_000)]
    return round(sum(len(json.dumps(event)) for event in events) / len(events))


def produce_backlog(brokers, space_id, count, people, prefix):
    producer = Producer(brokers, **{"linger.ms": 20, "batch.num.messages": 10000, "queue.buffering.max.messages": 500000})
    started = time.time()
    for i in range(count):
        pid, event = backlog_event(space_id, i, people, prefix)
        producer.send("engage.message-events", pid, event)
    producer.flush(120)
    return started, time.time()


def count_source_events(consumer, space_id, expected, timeout):
    """Counts the space's source events until `expected`; returns (count, last broker timestamp)."""
    seen, last, deadline = 0, 0.0, time.time() + timeout
    while seen < expected and time.time() < deadline:
        for message in consumer.consume(5000, 0.5):
            if message.error():
                continue
            headers = dict(message.headers() or [])
            if headers.get("space-id", b"").decode() == space_id:
                seen += 1
                last = max(last, message.timestamp()[1] / 1000)
    return seen, last


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", required=True)
    parser.add_argument("--events-source", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--database", required=True, help="postgres://... of the services' Postgres, for the raw limits")
    parser.add_argument("--admin-token", default="bench")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--webhook-events", type=int, default=30_000)
    parser.add_argument("--people", type=int, default=5_000)
    args = parser.parse_args()
    # Before the load, while the services are idle.
    limits = measure(args.brokers, args.database, event_bytes(args.people))

    admin = {"Authorization": f"Bearer {args.admin_token}"}
    space = requests.post(args.profiles + "/admin/spaces", json={"name": "bench"}, headers=admin).json()["id"]
    token = requests.post(f"{args.profiles}/admin/spaces/{space}/access-tokens", json={"name": "bench"}, headers=admin).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    wait_for(lambda: requests.get(f"{args.events_source}/spaces/{space}/destinations", headers=auth).status_code == 200,
             timeout=60, what="the token at the events source")

    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": "bench-" + uuid.uuid4().hex, "auto.offset.reset": "latest",
                         "enable.auto.commit": False, "fetch.min.bytes": 1})
    consumer.subscribe(["engage.source-events"])
    wait_for(lambda: consumer.poll(0.2) is None and consumer.assignment(), what="the counting consumer's assignment")

    # Phase 1: the topic.
    produced_from, produced_to = produce_backlog(args.brokers, space, args.events, args.people, "t" + uuid.uuid4().hex[:6])
    seen, last = count_source_events(consumer, space, args.events, timeout=600)
    topic_rate = seen / (last - produced_from) if last > produced_from else 0
    print(f"topic: {seen}/{args.events} source events; produced in {produced_to - produced_from:.1f} s; "
          f"all published {last - produced_from:.1f} s after the first was produced: {topic_rate:,.0f} events/s", flush=True)
    figures = [("events source, message events to source events", topic_rate, "ev/s")]

    # Phase 2: webhooks.
    destination = requests.post(f"{args.events_source}/spaces/{space}/destinations", json={"name": "bench", "url": "http://127.0.0.1:1/x"},
                                headers=auth).json()["data"]
    port = multiprocessing.Value("i", 0)
    counters, ready = multiprocessing.Array("d", 4), multiprocessing.Event()
    receiver = multiprocessing.Process(target=receiver_main, args=(port, destination["secret"], counters, ready), daemon=True)
    receiver.start()
    ready.wait(10)
    requests.patch(f"{args.events_source}/spaces/{space}/destinations/{destination['id']}", json={"url": f"http://127.0.0.1:{port.value}/hooks"},
                   headers=auth).raise_for_status()
    produced_from, produced_to = produce_backlog(args.brokers, space, args.webhook_events, args.people, "w" + uuid.uuid4().hex[:6])
    seen, last = count_source_events(consumer, space, args.webhook_events, timeout=600)
    wait_for(lambda: counters[0] + counters[1] >= args.webhook_events, timeout=900, interval=0.5, what="every webhook delivery")
    delivered, refused, first, final = counters[0], counters[1], counters[2], counters[3]
    print(f"topic during webhooks: {seen}/{args.webhook_events} in {last - produced_from:.1f} s "
          f"({seen / max(last - produced_from, 1e-9):,.0f} events/s)", flush=True)
    figures.append(("events source during webhooks", seen / max(last - produced_from, 1e-9), "ev/s"))
    print(f"webhooks: {delivered:.0f} delivered with a valid signature, {refused:.0f} refused; first to last delivery "
          f"{final - first:.1f} s: {delivered / max(final - first, 1e-9):,.0f} deliveries/s; "
          f"produce of the first event to the last delivery {final - produced_from:.1f} s", flush=True)
    figures.append(("webhook deliveries", delivered / max(final - first, 1e-9), "deliveries/s"))
    receiver.terminate()
    consumer.close()
    report(limits, figures)


if __name__ == "__main__":
    main()
