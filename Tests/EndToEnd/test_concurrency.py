"""Two profiles instances resolving one person's messages at the same time end in one profile."""
import json
import uuid

import requests

from confluent_kafka import Producer

from engage_harness import BROKERS, ServiceProcess, Space, psql, wait_for

PEOPLE = 25


def test_two_instances_resolving_the_same_people_concurrently_end_in_one_profile_each(profiles, log_dir):
    second = ServiceProcess("profiles", log_dir).start()
    try:
        # Wait until the second member has joined the group and owns partitions.
        wait_for(lambda: "partitions assigned" in open(second.log_path).read(), timeout=60, what="second instance assignment")
        space = Space(profiles.url)
        run = uuid.uuid4().hex[:6]
        records = []
        for person in range(PEOPLE):
            email, phone = f"p{person}-{run}@example.com", f"+4790{run}{person:03d}"
            # Four devices, seen first by email or by phone, then one message linking email and phone.
            # Each is keyed by its own anonymous id, so they spread over partitions and instances.
            for device in range(4):
                traits = {"email": email} if device % 2 == 0 else {"phone": phone}
                records.append({"type": "identify", "anonymousId": f"{run}-{person}-d{device}", "traits": traits})
            records.append({"type": "identify", "anonymousId": f"{run}-{person}-link", "traits": {"email": email, "phone": phone}})
        producer = Producer({"bootstrap.servers": BROKERS, "linger.ms": 0})
        for record in records:
            producer.produce("engage.tracking", key=record["anonymousId"].encode(), value=json.dumps(record).encode(),
                             headers=[("write-key", space.write_key.encode())])
        assert producer.flush(15) == 0

        wait_for(lambda: psql(f"SELECT count(*) FROM profiles.events WHERE space_id = '{space.id}'") == [[str(len(records))]],
                 timeout=90, what="all messages stored")
        live = psql(f"SELECT count(*) FROM profiles.profiles WHERE space_id = '{space.id}' AND merged_into IS NULL")
        assert live == [[str(PEOPLE)]]
        per_person = psql(f"""
            SELECT i.value, count(DISTINCT a.value) FROM profiles.identifiers i
            JOIN profiles.identifiers a ON a.profile_id = i.profile_id AND a.type = 'anonymous_id'
            WHERE i.space_id = '{space.id}' AND i.type = 'email' GROUP BY i.value""")
        assert len(per_person) == PEOPLE and all(count == "5" for _, count in per_person), per_person
        # Both instances did part of the work.
        stored = [line for line in requests.get(second.url + "/metrics").text.splitlines()
                  if line.startswith("engage_profiles_messages_stored_total")]
        assert stored and float(stored[0].split()[-1]) > 0, stored
    finally:
        assert second.terminate(timeout=30) == 0
