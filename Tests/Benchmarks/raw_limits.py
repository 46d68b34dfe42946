#!/usr/bin/env python3
"""The machine's raw limits, measured in the same run as a benchmark, so that its figures can also be
stated as a share of them: a run on a noisy or slower machine moves the limits too, and the shares
stay comparable where the absolute figures do not.

Two limits, each about `seconds` of work:
- the broker's produce rate: one confluent_kafka producer, set up like the platform's (idempotent,
  acks=all, linger.ms=2, no compression; see Shared/Kafka/KafkaConfig.swift), sending events of the
  benchmark's size with distinct keys to a fresh topic with the platform's partition count; timed
  from the first produce to the flush that confirms every delivery;
- Postgres's batched insert rate: multi-row INSERTs of 1,000 rows each into a logged table shaped
  like the outbox (Shared/Persistence/Migrator.swift), payloads of the benchmark's size, each
  statement its own transaction (psql's autocommit), so one WAL sync per 1,000 rows.

As a module: `limits = measure(brokers, database, event_bytes)` before the load, then
`report(limits, [(label, per_second, unit), ...])` at the end. As a command:

    python3 Tests/Benchmarks/raw_limits.py --brokers 127.0.0.1:9092 \
        --database postgres://postgres@127.0.0.1:5432/engage --event-bytes 420

Needs only confluent_kafka and the psql client.
"""
import argparse
import math
import os
import subprocess
import tempfile
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROWS_PER_STATEMENT = 1_000


def payload(index, size):
    """A JSON-ish text of exactly `size` bytes (at least its skeleton's) that differs per index."""
    head = '{"n":%d,"pad":"' % index
    return head + "x" * max(0, size - len(head) - 2) + '"}'


def platform_producer_settings(brokers):
    """The librdkafka settings of the platform's producer (KafkaConfig.producerProperties), and the
    extra properties a run gives the services through ENGAGE_KAFKA_PROPERTIES (key=value,...)."""
    settings = {
        "bootstrap.servers": brokers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "queue.buffering.max.messages": 500_000,
        "message.timeout.ms": 15_000,
        "allow.auto.create.topics": False,
    }
    for item in filter(None, os.environ.get("ENGAGE_KAFKA_PROPERTIES", "").split(",")):
        key, value = item.split("=", 1)
        settings[key.strip()] = value.strip()
    return settings


def produce(producer, topic, count, value, first_key):
    """Enqueues `count` events with distinct keys."""
    for index in range(first_key, first_key + count):
        while True:
            try:
                producer.produce(topic, value=value, key=b"raw-%d" % index)
                break
            except BufferError:
                # The platform's queue limit is reached: let deliveries free room.
                producer.poll(0.001)


def flush(producer):
    """Returns once the broker acknowledged every event enqueued."""
    left = producer.flush(60)
    if left:
        raise RuntimeError(f"raw limits: {left} events still undelivered after 60 s")


def produce_for(producer, topic, seconds, value, in_flight):
    """Produces for `seconds`, at most about `in_flight` events unacknowledged, then flushes; returns
    the count. The bound keeps the flush after the deadline short: this process enqueues faster than
    a broker acknowledges large events, and the backlog would otherwise run the clock on."""
    started, count = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        while len(producer) >= in_flight:
            producer.poll(0.001)  # only failures are reported: this waits out the millisecond
        produce(producer, topic, 1_000, value, first_key=count)
        count += 1_000
    flush(producer)
    return count


def broker_rate(brokers, event_bytes, seconds):
    """Events/s of one producer to a fresh topic over about `seconds`, after a warm-up."""
    # Notices and below hidden: the admin handle reports its unserved background events when it goes.
    admin = AdminClient({"bootstrap.servers": brokers, "log_level": 4})
    topic = f"bench-raw-{uuid.uuid4().hex[:12]}"
    # The platform's services create their topics with ENGAGE_KAFKA_TOPIC_PARTITIONS (default 3).
    partitions = int(os.environ.get("ENGAGE_KAFKA_TOPIC_PARTITIONS", "3"))
    admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=10)[topic].result(timeout=15)
    failures = []
    settings = platform_producer_settings(brokers)
    # Only failed deliveries are reported: a callback per event would cost this Python process more
    # than the broker's work, and the platform's producer pays no such cost.
    settings.update({"delivery.report.only.error": True, "on_delivery": lambda error, _: failures.append(error)})
    producer = Producer(settings)
    # One value for every event: content does not matter to the broker without compression (the
    # platform uses none), and building distinct values would measure this process instead.
    value = payload(0, event_bytes).encode()
    # 16 MB in flight (at least 2,000 events): several full batches per partition, so the broker
    # is never waiting for this producer.
    in_flight = max(2_000, 16_000_000 // max(event_bytes, 1))
    try:
        # Warm-up: connection, producer id and partition leaders, outside the timing.
        produce(producer, topic, 1_000, value, first_key=-1_000)
        flush(producer)
        started = time.monotonic()
        count = produce_for(producer, topic, seconds, value, in_flight)
        elapsed = time.monotonic() - started
        if failures:
            raise RuntimeError(f"raw limits: {len(failures)} events failed, the first with {failures[0]}")
    finally:
        # The broker keeps its topics in memory: give it back (a broker that refuses keeps it).
        try:
            admin.delete_topics([topic], operation_timeout=10)[topic].result(timeout=15)
        except Exception:  # noqa: BLE001 - deleting is a courtesy
            pass
    return {"broker_events_per_second": count / elapsed, "broker_mb_per_second": count * event_bytes / elapsed / 1e6,
            "broker_events": count, "broker_seconds": elapsed, "partitions": partitions}


def psql(database, *arguments):
    subprocess.run(["psql", database, "-X", "-q", "-v", "ON_ERROR_STOP=1", *arguments], check=True,
                   stdout=subprocess.DEVNULL)


def write_inserts(path, table, statements, event_bytes, first):
    """A SQL file of `statements` INSERTs of ROWS_PER_STATEMENT outbox-like rows each."""
    with open(path, "w") as sql:
        for statement in range(first, first + statements):
            base = statement * ROWS_PER_STATEMENT
            rows = ",".join(f"('bench.raw','raw-{base + row}','{payload(base + row, event_bytes)}','{{\"contract\":\"raw/1\"}}')"
                            for row in range(ROWS_PER_STATEMENT))
            sql.write(f"INSERT INTO {table} (topic, key, payload, headers) VALUES {rows};\n")


def timed_file(database, path):
    started = time.monotonic()
    psql(database, "-f", path)
    return time.monotonic() - started


def postgres_rate(database, event_bytes, seconds):
    """Rows/s of 1,000-row INSERTs, each its own transaction, into an outbox-shaped logged table:
    a pilot of 10 statements sizes the timed run of about `seconds`."""
    table = f"bench_raw_{uuid.uuid4().hex[:12]}"
    # The outbox's shape (Shared/Persistence/Migrator.swift), logged like it: every commit waits
    # for its WAL to reach the disk, as the platform's transactions do.
    psql(database, "-c", f"CREATE TABLE {table} (id bigserial PRIMARY KEY, topic text NOT NULL, key text, "
                         "payload text NOT NULL, headers jsonb NOT NULL DEFAULT '{}', "
                         "created_at timestamptz NOT NULL DEFAULT now())")
    handle, path = tempfile.mkstemp(prefix="bench-raw-", suffix=".sql")
    os.close(handle)
    try:
        write_inserts(path, table, 10, event_bytes, first=0)
        pilot = 10 * ROWS_PER_STATEMENT / timed_file(database, path)
        statements = int(min(max(pilot * seconds / ROWS_PER_STATEMENT, 10), 2_000))
        write_inserts(path, table, statements, event_bytes, first=10)
        elapsed = timed_file(database, path)
    finally:
        os.unlink(path)
        psql(database, "-c", f"DROP TABLE IF EXISTS {table}")
    rows = statements * ROWS_PER_STATEMENT
    return {"postgres_rows_per_second": rows / elapsed, "postgres_rows": rows, "postgres_seconds": elapsed,
            "rows_per_statement": ROWS_PER_STATEMENT}


def measure(brokers, database, event_bytes, seconds=2.5):
    """Both raw limits for events of `event_bytes` bytes, one after the other (each alone on the
    machine, as far as this run goes)."""
    limits = {"event_bytes": event_bytes}
    limits.update(broker_rate(brokers, event_bytes, seconds))
    limits.update(postgres_rate(database, event_bytes, seconds))
    return limits


def rounded(value):
    """Three significant figures: a limit measured over a few seconds is no more precise."""
    if value <= 0:
        return 0
    return round(value, -max(0, int(math.floor(math.log10(value))) - 2))


def percent(share):
    return f"{100 * share:.1f}" if share >= 0.01 else f"{100 * share:.2f}"


def describe(limits):
    """The limits as one line."""
    return (f"raw limits (same run): broker {rounded(limits['broker_events_per_second']):,.0f} ev/s of "
            f"{limits['event_bytes']:,} B from one producer ({limits['broker_mb_per_second']:,.0f} MB/s); "
            f"postgres {rounded(limits['postgres_rows_per_second']):,.0f} rows/s in "
            f"{limits['rows_per_statement']:,}-row insert statements")


def share_line(limits, label, per_second, unit):
    return (f"{label}: {per_second:,.0f} {unit} = {percent(per_second / limits['broker_events_per_second'])} % of the "
            f"broker's raw produce rate, {percent(per_second / limits['postgres_rows_per_second'])} % of postgres's "
            "batched insert rate")


def report(limits, figures):
    """Prints the limits, then each throughput figure, (label, per_second, unit), as a share of both."""
    print(describe(limits), flush=True)
    for label, per_second, unit in figures:
        print(share_line(limits, label, per_second, unit), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", required=True, help="HOST:PORT of the Kafka-protocol broker")
    parser.add_argument("--database", required=True, help="postgres://user@host:port/database")
    parser.add_argument("--event-bytes", type=int, default=400, help="size of each event and row payload")
    parser.add_argument("--seconds", type=float, default=2.5, help="work per limit")
    args = parser.parse_args()
    started = time.monotonic()
    limits = measure(args.brokers, args.database, args.event_bytes, args.seconds)
    report(limits, [])
    print(f"  broker: {limits['broker_events']:,} events in {limits['broker_seconds']:.2f} s to {limits['partitions']} "
          f"partitions; postgres: {limits['postgres_rows']:,} rows in {limits['postgres_seconds']:.2f} s; "
          f"measured in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
