"""kill -9 mid-stream: every event is stored exactly once and reaches profile-events."""
import json
import threading
import uuid

import requests
from confluent_kafka import Consumer

from engage_harness import BROKERS, Space, psql, wait_for

TOTAL = 3000
BATCH = 100


def send_all(space, messages, progress):
    """Posts the batches in order, retrying a batch until it is acknowledged, as Segment clients do."""
    session = requests.Session()
    for start in range(0, len(messages), BATCH):
        body = {"batch": messages[start:start + BATCH]}
        while True:
            try:
                response = session.post(f"{space.url}/v1/batch", json=body, headers=space.write_auth(), timeout=10)
                if response.status_code == 200:
                    break
                assert response.status_code >= 500, response.text
            except requests.RequestException:
                pass
            progress["retries"] += 1
            threading.Event().wait(0.1)
        progress["sent"] = start + BATCH


def test_kill_9_mid_stream_loses_nothing_and_stores_nothing_twice(profiles):
    space = Space(profiles.url)
    run = uuid.uuid4().hex[:8]
    messages = [{"type": "track", "userId": f"crash-{run}-{i % 40}", "event": "Tick", "properties": {"i": i},
                 "messageId": f"crash-{run}-{i}"} for i in range(TOTAL)]
    progress = {"sent": 0, "retries": 0}
    sender = threading.Thread(target=send_all, args=(space, messages, progress))
    sender.start()
    wait_for(lambda: progress["sent"] >= TOTAL // 3, timeout=60, interval=0.01, what="a third of the events sent")
    profiles.kill9()
    profiles.start()
    sender.join(timeout=120)
    assert not sender.is_alive()

    def stored():
        rows = psql(f"SELECT count(*), count(DISTINCT message_id) FROM profiles.events WHERE space_id = '{space.id}'")
        return rows[0] == [str(TOTAL), str(TOTAL)]
    wait_for(stored, timeout=120, interval=0.5, what=f"{TOTAL} stored events")
    # Exactly TOTAL rows: none twice (the primary key would refuse it anyway), none missing.
    assert psql(f"SELECT count(*) FROM profiles.events WHERE space_id = '{space.id}'") == [[str(TOTAL)]]

    # Downstream view: every event reached engage.profile-events. A relay crash between the broker's
    # acknowledgement and the outbox delete may repeat a record; consumers dedupe on its `id`.
    expected = {f"{space.id}:crash-{run}-{i}" for i in range(TOTAL)}
    seen, total = set(), [0]
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": "e2e-crash-" + run, "auto.offset.reset": "earliest",
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
    consumer.subscribe(["engage.profile-events"])

    def drained():
        for message in consumer.consume(500, 0.5):
            if message.error():
                continue
            event = json.loads(message.value())
            if event["spaceId"] == space.id:
                total[0] += 1
                seen.add(event["id"])
                assert event["profileId"].startswith("use_")
        return seen == expected
    wait_for(drained, timeout=120, interval=0, what="all profile events")
    consumer.close()
    assert seen == expected
    print(f"profile-events records for the run: {total[0]} ({total[0] - TOTAL} repeats), sender retries: {progress['retries']}")
