"""CSV import benchmark: generates a CSV, uploads it, and times it until the upload is completed,
i.e. every row resolved into profiles and every subscription command applied by the
subscriptions service. Samples each service's RSS meanwhile and reports the peak (VmHWM)."""
import argparse
import os
import threading
import time

import requests


def generate(path, rows):
    """email, phone, user_id, two statuses (every row), a trait; ~110 bytes per row."""
    with open(path, "w") as f:
        f.write("user_id,email,phone,email_subscription_status,sms_subscription_status,plan\n")
        for i in range(rows):
            f.write(f"user-{i},person{i}@example.com,+1415{i:07d},subscribed,{'subscribed' if i % 2 else 'unsubscribed'},plan-{i % 7}\n")


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
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--pids", required=True, help="name=pid,name=pid")
    parser.add_argument("--work", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    pids = dict(item.split("=") for item in args.pids.split(","))

    admin = {"Authorization": f"Bearer {args.admin_token}"}
    space = requests.post(args.profiles + "/admin/spaces", json={"name": "bench"}, headers=admin).json()["id"]
    token = requests.post(f"{args.profiles}/admin/spaces/{space}/access-tokens", json={"name": "bench"}, headers=admin).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    path = os.path.join(args.work, "bench.csv")
    generate(path, args.rows)
    size = os.path.getsize(path)
    print(f"generated {args.rows} rows, {size / 1e6:.1f} MB")

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
    rows = body["rowsRead"]
    print(f"completed: {rows} rows ({body['rowsAccepted']} accepted, {body['rowsRejected']} rejected) in {elapsed:.1f} s "
          f"= {rows / elapsed:,.0f} rows/s end to end")
    for name, pid in pids.items():
        print(f"peak RSS {name}: {rss_mb(pid):.0f} MB")


if __name__ == "__main__":
    main()
