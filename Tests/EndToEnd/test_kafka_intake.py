"""Internal systems publishing Segment-spec JSON straight onto the tracking topic."""
import json
import uuid

from confluent_kafka import Consumer, Producer

from engage_harness import BROKERS, Space, wait_for


def produce(records):
    producer = Producer({"bootstrap.servers": BROKERS, "enable.idempotence": True})
    for key, value, headers in records:
        producer.produce("engage.tracking", key=key, value=value, headers=headers)
    assert producer.flush(15) == 0


def test_a_record_on_the_topic_is_resolved_like_an_http_call(profiles):
    space = Space(profiles.url)
    message = {"type": "identify", "userId": "kafka-user", "traits": {"email": "kafka@example.com", "source": "billing"},
               "messageId": "billing-" + uuid.uuid4().hex, "timestamp": "2026-11-01T10:00:00Z"}
    produce([(b"kafka-user", json.dumps(message).encode(), [("write-key", space.write_key.encode())])])
    traits = wait_for(lambda: space.profile("email:kafka@example.com", "traits").status_code == 200
                      and space.profile("email:kafka@example.com", "traits").json()["traits"], what="profile from topic")
    assert traits == {"email": "kafka@example.com", "source": "billing"}
    events = space.all_events("user_id:kafka-user")
    assert [e["message_id"] for e in events] == [message["messageId"]]
    # source-id header works too.
    produce([(b"kafka-user", json.dumps({"type": "track", "userId": "kafka-user", "event": "Invoice Paid"}).encode(),
              [("source-id", space.source_id.encode())])])
    wait_for(lambda: len(space.all_events("user_id:kafka-user")) == 2, what="second event")


def test_a_poison_record_goes_to_the_dead_letter_topic_and_the_next_one_is_processed(profiles):
    space = Space(profiles.url)
    marker = uuid.uuid4().hex
    produce([
        (b"p", b"{not json " + marker.encode(), [("write-key", space.write_key.encode())]),
        (b"p", json.dumps({"type": "track", "userId": "p", "event": "After Poison"}).encode(), [("write-key", space.write_key.encode())]),
        (b"p", json.dumps({"type": "track", "userId": "p", "event": "No source"}).encode(), []),
    ])
    wait_for(lambda: [e["event"] for e in space.all_events("user_id:p")] == ["After Poison"], what="the record after the poison one")

    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": "e2e-dlq-" + marker, "auto.offset.reset": "earliest",
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
    consumer.subscribe(["engage.tracking.dlq"])
    found = {}

    def poll():
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            letter = json.loads(message.value())
            if marker in (letter.get("value") or ""):
                found["poison"] = (letter, dict(message.headers() or []))
            elif letter.get("value") and "No source" in letter["value"]:
                found["nosource"] = letter
        return len(found) == 2

    wait_for(poll, timeout=60, interval=0, what="dead letters")
    consumer.close()
    letter, headers = found["poison"]
    assert letter["originalTopic"] == "engage.tracking" and letter["reason"].startswith("malformed JSON")
    assert headers["dlq-reason"].decode().startswith("malformed JSON")
    assert found["nosource"]["reason"].startswith("no source")
