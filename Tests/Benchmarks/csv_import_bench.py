"""CSV import benchmark: generates a CSV, uploads it, and times it until the upload is completed,
i.e. every row resolved into profiles and every subscription command applied by the
subscriptions service. Samples each service's RSS meanwhile and reports the peak (VmHWM). Before the
upload it measures the machine's raw limits (raw_limits.py), and at the end states the rows/s as a
share of them."""
import argparse
import json
import os
import statistics
import time

import requests

import process_cpu
from raw_limits import measure, report


def row(i):
    """Row i's cells: user_id, email, phone, two statuses, a trait."""
    return (f"user-{i}", f"person{i}@example.com", f"+1415{i:07d}", "subscribed",
            "subscribed" if i % 2 else "unsubscribed", f"plan-{i % 7}")


def generate(path, rows):
    """email, phone, user_id, two statuses (every row), a trait; ~110 bytes per row."""
    with open(path, "w") as f:
        f.write("user_id,email,phone,email_subscription_status,sms_subscription_status,plan\n")
        for i in range(rows):
            f.write(",".join(row(i)) + "\n")


def update_bytes(rows=100):
    """The mean size of the records a row becomes: its two profile updates (traits_changed and
    identifiers_added, ProfileUpdate in Shared/Contracts/ProfileEvents.swift, compact JSON) written
    to the outbox and published, with ids of the platform's lengths. A model, not a copy: about
    right, which is all the raw limits need; the row's subscription commands travel in batches."""
    space, profile, upload, stamp = "spa_" + "x" * 24, "use_" + "x" * 24, "upl_" + "x" * 24, "2026-01-01T00:00:00.000Z"
    sizes = []
    for i in range(rows):
        user_id, email, phone, _, _, plan = row(i)
        cause = f"csv-{upload}-{i + 1}"
        common = {"schemaVersion": 1, "spaceId": space, "profileId": profile, "occurredAt": stamp, "causedByMessageId": cause}
        traits = {**common, "id": f"{space}:{cause}:{profile}:traits_changed", "kind": "traits_changed",
                  "traits": {"email": email, "phone": phone, "plan": plan}}
        identifiers = {**common, "id": f"{space}:{cause}:{profile}:identifiers_added", "kind": "identifiers_added",
                       "identifiers": [{"type": kind, "id": value, "collection": "users", "encoding": "none"}
                                       for kind, value in (("user_id", user_id), ("email", email), ("phone", phone))]}
        sizes += [len(json.dumps(record, separators=(",", ":"))) for record in (traits, identifiers)]
    return round(statistics.mean(sizes))


def rss_mb(pid, field="VmHWM"):
    """VmHWM: peak resident set size; VmRSS: current."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_summary(pids):
    return " ".join(f"{name}={rss_mb(pid, 'VmRSS'):.0f}MB" for name, pid in pids.items())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", required=True)
    parser.add_argument("--subscriptions", required=True)
    parser.add_argument("--brokers", required=True, help="the services' broker, for the raw limits")
    parser.add_argument("--database", required=True, help="postgres://... of the services' Postgres, for the raw limits")
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--pids", required=True, help="name=pid,name=pid")
    parser.add_argument("--postgres-pid", help="the postmaster's pid: CPU of Postgres (server and backends)")
    parser.add_argument("--broker-pid", help="the broker's pid, for its CPU")
    parser.add_argument("--work", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    pids = dict(item.split("=") for item in args.pids.split(","))
    # Before the load, while the services are idle.
    limits = measure(args.brokers, args.database, update_bytes())

    admin = {"Authorization": f"Bearer {args.admin_token}"}
    space = requests.post(args.profiles + "/admin/spaces", json={"name": "bench"}, headers=admin).json()["id"]
    token = requests.post(f"{args.profiles}/admin/spaces/{space}/access-tokens", json={"name": "bench"}, headers=admin).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    path = os.path.join(args.work, "bench.csv")
    generate(path, args.rows)
    size = os.path.getsize(path)
    print(f"generated {args.rows} rows, {size / 1e6:.1f} MB")

    cpu_pids = {**pids, **({"broker": args.broker_pid} if args.broker_pid else {})}
    cpu_before = process_cpu.snapshot(cpu_pids, args.postgres_pid)
    started = time.monotonic()
    with open(path, "rb") as f:
        response = requests.post(f"{args.profiles}/v1/spaces/{space}/csv-uploads", params={"filename": "bench.csv"}, data=f,
                                 headers={**auth, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    uploaded = time.monotonic()
    upload_id = response.json()["data"]["id"]
    print(f"upload accepted after {uploaded - started:.1f} s ({size / 1e6 / (uploaded - started):.0f} MB/s, file checked while streaming); "
          f"RSS {rss_summary(pids)}")

    last_print = 0.0
    while True:
        body = requests.get(f"{args.profiles}/v1/spaces/{space}/csv-uploads/{upload_id}", headers=auth).json()["data"]
        now = time.monotonic()
        if now - last_print > 10:
            print(f"  {now - started:6.1f} s  status={body['status']} rows_read={body['rowsRead']}  RSS {rss_summary(pids)}")
            last_print = now
        if body["status"] == "completed":
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    cpu_after = process_cpu.snapshot(cpu_pids, args.postgres_pid)
    rows = body["rowsRead"]
    print(f"completed: {rows} rows ({body['rowsAccepted']} accepted, {body['rowsRejected']} rejected) in {elapsed:.1f} s "
          f"= {rows / elapsed:,.0f} rows/s end to end")
    for name, pid in pids.items():
        print(f"peak RSS {name}: {rss_mb(pid):.0f} MB")
    process_cpu.report(cpu_before, cpu_after, rows, "row", elapsed)
    report(limits, [("csv import end to end", rows / elapsed, "rows/s")])


if __name__ == "__main__":
    main()
