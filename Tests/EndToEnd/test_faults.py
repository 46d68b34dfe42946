"""Fault suite (issue 15): Postgres and broker outages, poison input, shutdown while Postgres is down.

These tests stop, restart and empty Postgres and the broker, so they run against a private Postgres
and a private Tansu broker (fault_helpers.PrivateStack), never the session's. The services are
started with ENGAGE_STALL_SECONDS=5 and ENGAGE_TRACKING_ACK_TIMEOUT_MS=3000.

What every case checks: each event answered 200 is stored exactly once; processing resumes without
any service being restarted (same PIDs, none exited); the probes tell the truth meanwhile:
  - GET /health: 200 {"status":"ok"}, or 503 {"status":"stalled", ...} while a loop (consumer, outbox
    relay, worker) has held work without progress for more than ENGAGE_STALL_SECONDS;
  - GET /ready: 503 {"status":"not_ready", ...} while Postgres or the broker is unreachable or a loop
    is stalled; 200 otherwise.

profiles runs for every test; journeys joins for the broker tests (it used to die on an empty broker).
Tests run in the file's order: the outage tests first, then the poison-input tests. Before each test,
a service that died in an earlier one is restarted, and if the stack was left broken (a loop still
stalled, a tracking API that no longer publishes, a poison record the intake cannot get past, which is
consumed again after every restart), the broker is restarted empty and the services with it; the test
that caused it has already failed on it.
"""
import json
import signal
import subprocess
import time
import uuid

import pytest
import requests

from engage_harness import BIN_PATH, Space
from fault_helpers import (PLATFORM_TOPICS, STALL_SECONDS, TOPIC_PARTITIONS, TRACKING_ACK_TIMEOUT_MS, PrivateStack,
                           TrackingSender, assert_stored_exactly_once, describe_exit, health_is, poll_until,
                           probe, ready_is, stored_message_ids)

# A tracking call while the broker does not acknowledge must be answered by then (503 + Retry-After).
ACK_ANSWER_SECONDS = TRACKING_ACK_TIMEOUT_MS / 1000 + 1.5
# How long after a fault ends the system has to be back to normal.
RECOVERY_SECONDS = 30
STORE_SECONDS = 45
# The SIGTERM test's instance gets ENGAGE_SHUTDOWN_GRACE_SECONDS (docs/configuration.md) and must be gone
# within it plus a margin, whatever it is doing (Kubernetes' default grace period is 30 s).
SHUTDOWN_GRACE_SECONDS = 15
SIGTERM_GRACE_SECONDS = 20
# The largest record a dead letter may be: librdkafka's default message.max.bytes, which is below Apache
# Kafka's default broker limit (1,048,588). Tansu itself accepts records of 6 MB and more, so the limit
# that matters in production is Kafka's, not the test broker's.
DEAD_LETTER_LIMIT = 1_000_000


@pytest.fixture(scope="module")
def stack(log_dir):
    if not BIN_PATH:
        pytest.fail("run through deploy/dev/test.sh: ENGAGE_BIN_PATH is unset")
    private = PrivateStack(log_dir)
    try:
        private.start_postgres()
        private.start_broker()
        private.start_service("profiles", key="profiles")
        private.canary = Space(private.services["profiles"].url)
        yield private
    finally:
        private.close()


@pytest.fixture
def faults(stack):
    """The private stack with Postgres and the broker up and every service running."""
    if not stack.postgres_running():
        stack.start_postgres()
    if stack.broker is None or stack.broker.poll() is not None:
        stack.start_broker()
    stack.resume_broker()
    revived = stack.revive()
    if revived:
        print(f"restarted after an earlier test: {', '.join(revived)}")
    if not stack_works(stack):
        # An earlier test left the stack broken: a poison record the intake cannot get past (it is consumed
        # again after every restart), a tracking API that no longer publishes, a loop still stalled. Start from
        # an empty broker and fresh services, so that this test fails, or passes, on its own.
        print("the stack was left broken by an earlier test: emptying the broker and restarting the services")
        stack.reset()
        assert stack_works(stack), "the stack does not work even with an empty broker and fresh services"
    return stack


@pytest.fixture
def senders():
    """Starts TrackingSenders; whatever happens in the test, they stop at its end."""
    started = []

    def start(space):
        sender = TrackingSender(space).start()
        started.append(sender)
        return sender
    yield start
    for sender in started:
        sender.stop(timeout=5)


def stack_works(stack):
    return all(poll_until(lambda: settled(service), 10, interval=0.5) for service in stack.services.values()) \
        and tracking_flows(stack)


@pytest.fixture
def faults_with_journeys(faults):
    """The same, with journeys running too (started by the first test that needs it)."""
    if "journeys" not in faults.services:
        faults.start_service("journeys", key="journeys")
        assert poll_until(lambda: settled(faults.services["journeys"]), 30, interval=0.5), "journeys not healthy and ready"
    return faults


def tracking_flows(stack):
    """An event posted to the tracking API is accepted, and it and a record produced onto the tracking
    topic are stored, within seconds."""
    posted, produced = "canary-" + uuid.uuid4().hex, "canary-" + uuid.uuid4().hex
    try:
        answer = requests.post(f"{stack.canary.url}/v1/track", json={"userId": "canary", "event": "Canary", "messageId": posted},
                               headers=stack.canary.write_auth(), timeout=5).status_code
    except requests.RequestException:
        answer = None
    if answer != 200:
        return False
    stack.produce([track_record(stack.canary, produced)])
    wanted = {posted, produced}
    return poll_until(lambda: wanted <= set(stored_message_ids(stack, stack.canary.id) or []), 10, interval=0.3) is not None


def settled(service):
    """/health 200 ok and /ready 200 ready."""
    return health_is(service, 200, "ok") and ready_is(service, 200, "ready")


def assert_settles(*services, timeout=RECOVERY_SECONDS):
    for service in services:
        if poll_until(lambda: settled(service), timeout, interval=0.5) is None:
            raise AssertionError(f"{service.name} not healthy and ready within {timeout}s: /health {probe(service, '/health')}, "
                                 f"/ready {probe(service, '/ready')}")


def track_record(space, message_id, key=None, **fields):
    message = {"type": "track", "userId": key or message_id, "event": "Direct", "messageId": message_id, **fields}
    return ("engage.tracking", (key or message_id).encode(), json.dumps(message).encode(), [("write-key", space.write_key.encode())])


# --- Postgres ---------------------------------------------------------------------------------------


def test_postgres_restart_mid_stream_stores_every_accepted_event_once(faults, senders):
    profiles = faults.services["profiles"]
    pids = faults.pids()
    space = Space(profiles.url)
    sender = senders(space)
    try:
        sender.wait_accepted(200)
        faults.restart_postgres()  # pg_ctl -m fast restart: every connection is cut
        sender.wait_accepted(200, timeout=RECOVERY_SECONDS)
    finally:
        sender.stop(timeout=30)
    assert not sender.unaccepted(), f"batches never accepted after the restart: {sender.recent_statuses()}"
    assert_stored_exactly_once(faults, space.id, sender.accepted, sender.sent, timeout=STORE_SECONDS)
    faults.assert_same_processes(pids)
    assert_settles(profiles)
    print(f"tracking answers: {sender.status_counts()}")


def test_postgres_outage_shows_on_the_probes_and_processing_resumes(faults, senders):
    profiles = faults.services["profiles"]
    pids = faults.pids()
    space = Space(profiles.url)
    sender = senders(space)
    problems = []
    direct = [f"pg-down-{uuid.uuid4().hex[:8]}-{i}" for i in range(30)]
    try:
        sender.wait_accepted(100)
        faults.stop_postgres()
        # The broker is up: these reach the intake, which cannot store them while Postgres is down and so
        # holds work without progress.
        faults.produce([track_record(space, message_id) for message_id in direct])
        if poll_until(lambda: ready_is(profiles, 503, "not_ready"), 15) is None:
            problems.append(f"/ready did not answer 503 not_ready while Postgres was down: {probe(profiles, '/ready')}")
        if poll_until(lambda: health_is(profiles, 503, "stalled"), STALL_SECONDS + 20) is None:
            problems.append(f"/health did not answer 503 stalled within {STALL_SECONDS + 20}s of Postgres going down "
                            f"with records in hand: {probe(profiles, '/health')}")
    finally:
        faults.start_postgres()
    # Every broken expectation is reported, not just the first.
    for check in (lambda: assert_settles(profiles), lambda: sender.wait_accepted(100, timeout=RECOVERY_SECONDS)):
        try:
            check()
        except AssertionError as failure:
            problems.append(f"after Postgres returned: {failure}")
    sender.stop(timeout=30)
    if sender.unaccepted():
        problems.append(f"{len(sender.unaccepted())} events never accepted after Postgres returned: {sender.recent_statuses()}")
    try:
        assert_stored_exactly_once(faults, space.id, sender.accepted | set(direct), sender.sent, timeout=STORE_SECONDS)
    except AssertionError as failure:
        problems.append(str(failure))
    faults.assert_same_processes(pids)
    assert not problems, "\n".join(problems)


def test_sigterm_exits_within_the_grace_period_while_postgres_is_down(faults):
    space = Space(faults.services["profiles"].url)
    pids = faults.pids()
    # A second instance in a group of its own: it reads the whole tracking topic, and once it has
    # committed there it is in its group with partitions assigned.
    group = "engage-profiles-sigterm-" + uuid.uuid4().hex[:6]
    extra = faults.start_service("profiles", extra_env={"ENGAGE_CONSUMER_GROUP": group,
                                                        "ENGAGE_SHUTDOWN_GRACE_SECONDS": str(SHUTDOWN_GRACE_SECONDS)})
    warm_up = [f"sigterm-warm-up-{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]
    faults.produce([track_record(space, message_id) for message_id in warm_up])
    assert poll_until(lambda: any(faults.committed_offset(group, "engage.tracking", p) is not None for p in range(TOPIC_PARTITIONS)),
                      30, interval=0.5), f"the second instance's intake did not commit anything; see {extra.log_path}"
    direct = [f"sigterm-{uuid.uuid4().hex[:8]}-{i}" for i in range(30)]
    code, elapsed = None, None
    faults.stop_postgres()
    try:
        # Work in hand that cannot be stored while Postgres is down.
        faults.produce([track_record(space, message_id) for message_id in direct])
        assert poll_until(lambda: ready_is(extra, 503, "not_ready"), 15), f"/ready with Postgres down: {probe(extra, '/ready')}"
        started = time.monotonic()
        extra.process.send_signal(signal.SIGTERM)
        try:
            code = extra.process.wait(timeout=SIGTERM_GRACE_SECONDS)
            elapsed = time.monotonic() - started
        except subprocess.TimeoutExpired:
            extra.kill9()
    finally:
        faults.start_postgres()
    assert code is not None, (f"profiles was still running {SIGTERM_GRACE_SECONDS}s after SIGTERM while Postgres was down "
                              f"(killed with SIGKILL); see {extra.log_path}")
    assert code >= 0, f"profiles crashed on SIGTERM while Postgres was down: {describe_exit(code)}; see {extra.log_path}"
    print(f"SIGTERM with Postgres down: exited in {elapsed:.1f}s with {describe_exit(code)}")
    # The session's instance lived through it and stores what was produced meanwhile.
    assert_stored_exactly_once(faults, space.id, set(warm_up + direct), timeout=STORE_SECONDS)
    faults.assert_same_processes(pids)


# --- broker -----------------------------------------------------------------------------------------


def outage_problems(sender, services):
    """What the services must do while the broker is unreachable: a tracking call is answered 503 with
    Retry-After within the acknowledgement timeout (plus a margin), twice in a row; /ready answers 503."""
    problems = []
    for attempt in (1, 2):
        status, elapsed, response = sender.probe(timeout=ACK_ANSWER_SECONDS)
        if status != 503:
            problems.append(f"tracking call {attempt} while the broker was down: {status} after {elapsed:.1f}s, "
                            f"expected 503 within {ACK_ANSWER_SECONDS}s")
        elif elapsed > ACK_ANSWER_SECONDS:
            problems.append(f"tracking call {attempt} while the broker was down took {elapsed:.1f}s")
        elif not (response.headers.get("Retry-After") or "").strip().isdigit():
            problems.append(f"503 without a Retry-After in seconds: {dict(response.headers)}")
    for service in services:
        if poll_until(lambda: ready_is(service, 503, "not_ready"), 10) is None:
            problems.append(f"{service.name} /ready while the broker was down: {probe(service, '/ready')}")
    return problems


def topics_complete(stack):
    """Every platform topic and its .dlq topic exists with the configured partition count."""
    partitions = stack.topic_partitions()
    if partitions is None:
        return False
    wanted = PLATFORM_TOPICS + [topic + ".dlq" for topic in PLATFORM_TOPICS]
    return all(partitions.get(topic) == TOPIC_PARTITIONS for topic in wanted)


def describe_topics(stack):
    partitions = stack.topic_partitions() or {}
    wanted = PLATFORM_TOPICS + [topic + ".dlq" for topic in PLATFORM_TOPICS]
    return {topic: partitions.get(topic) for topic in wanted if partitions.get(topic) != TOPIC_PARTITIONS}


def feedback_problems(stack, space):
    """The profiles consumer of the subscription topics (a group of its own) resumed too: a subscription
    group produced now reaches the profiles replica."""
    key = f"after-broker-{uuid.uuid4().hex[:8]}"
    record, stored = good_record("engage.subscription-groups", space, key)
    stack.produce([record])
    if poll_until(lambda: stored(stack), RECOVERY_SECONDS, interval=0.5) is not None:
        return []
    group = PROFILES_INPUTS["engage.subscription-groups"]
    return [f"{group} did not store a subscription group produced after the broker returned within {RECOVERY_SECONDS}s\n"
            f"--- profiles log, group {group}:\n" + stack.services["profiles"].log_excerpt(f'"group":"{group}"')]


def run_broker_fault(stack, senders, kind):
    """`pause`: the broker hangs (SIGSTOP) and comes back with its data. `stop`: it stops, stays down,
    and restarts on the same port empty (memory storage). `instant`: it is killed and restarted at once,
    empty. Tracking calls are posted throughout. Collects every broken expectation, then fails with all."""
    profiles, journeys = stack.services["profiles"], stack.services["journeys"]
    pids = stack.pids()
    space = Space(profiles.url)
    sender = senders(space)
    problems, recovered = [], None
    try:
        sender.wait_accepted(100)
        if kind == "pause":
            stack.pause_broker()
            try:
                problems += outage_problems(sender, [profiles, journeys])
            finally:
                stack.resume_broker()
        else:
            # An empty broker loses every record it held, which no service can help: let everything accepted
            # so far be stored first, so that what this test counts is the services' doing.
            sender.pause()
            assert_stored_exactly_once(stack, space.id, sender.accepted, sender.sent, timeout=STORE_SECONDS)
            stack.stop_broker(signal.SIGTERM if kind == "stop" else signal.SIGKILL)
            sender.resume()
            try:
                if kind == "stop":
                    problems += outage_problems(sender, [profiles, journeys])
            finally:
                stack.start_broker()
        returned = time.monotonic()
        recovered = poll_until(lambda: sender.probe(timeout=5)[0] == 200, RECOVERY_SECONDS, interval=0.5)
        if recovered:
            print(f"tracking answered 200 again {time.monotonic() - returned:.1f}s after the broker returned")
            try:
                sender.wait_accepted(100, timeout=RECOVERY_SECONDS)
            except AssertionError as failure:
                problems.append(f"after the broker returned: {failure}")
        else:
            problems.append(f"tracking not answering 200 {RECOVERY_SECONDS}s after the broker returned: {sender.recent_statuses()}")
    finally:
        sender.stop(timeout=30 if recovered else 5)
    if recovered:
        unaccepted = sender.unaccepted()
        if unaccepted:
            problems.append(f"{len(unaccepted)} events never accepted after the broker returned: {sender.recent_statuses()}")
        try:
            assert_stored_exactly_once(stack, space.id, sender.accepted, sender.sent, timeout=STORE_SECONDS)
        except AssertionError as failure:
            problems.append(str(failure))
    if poll_until(lambda: topics_complete(stack), RECOVERY_SECONDS if recovered else 5, interval=1.0) is None:
        problems.append(f"topics missing or without {TOPIC_PARTITIONS} partitions after the broker returned: {describe_topics(stack)}")
    elif recovered:
        problems += feedback_problems(stack, space)
    for service in (profiles, journeys):
        if service.process.poll() is not None:
            problems.append(f"{service.name} died: {describe_exit(service.process.returncode)}; see {service.log_path}")
        elif poll_until(lambda: settled(service), RECOVERY_SECONDS if recovered else 10, interval=0.5) is None:
            problems.append(f"{service.name} not healthy and ready after the broker returned: /health {probe(service, '/health')}, "
                            f"/ready {probe(service, '/ready')}")
    print(f"tracking answers: {sender.status_counts()}")
    assert not problems, "\n".join(problems)
    stack.assert_same_processes(pids)


def test_broker_hang_answers_503_fast_and_nothing_is_lost(faults_with_journeys, senders):
    run_broker_fault(faults_with_journeys, senders, "pause")


def test_broker_stop_and_empty_restart_on_the_same_port(faults_with_journeys, senders):
    # journeys used to die with SIGSEGV here ("partition count changed from 3 to 0" for engage.spaces).
    run_broker_fault(faults_with_journeys, senders, "stop")


def test_broker_instant_empty_restart(faults_with_journeys, senders):
    run_broker_fault(faults_with_journeys, senders, "instant")


# --- invalid text -----------------------------------------------------------------------------------

SLOT = "@@BAD@@"
# Inserted into a JSON string, as the bytes of the JSON text.
INVALID_TEXT = {
    "NUL escape": b"\\u0000",
    "raw NUL byte": b"\x00",
    "invalid UTF-8": b"\xff\xfe",
    "truncated UTF-8 sequence": b"\xc3(",
    "lone high surrogate escape": b"\\ud800",
    "lone low surrogate escape": b"\\udc00",
    "UTF-8-encoded surrogate": b"\xed\xa0\x80",
}


def invalid_text_messages(prefix):
    """(field, message) pairs: a valid message with SLOT in one string field (or key)."""
    def track(**changes):
        message = {"type": "track", "userId": f"{prefix}-user", "event": "Bad Text", "properties": {"plan": "pro"},
                   "context": {"library": {"name": "e2e", "version": "1.0"}, "userAgent": "e2e"}}
        message.update(changes)
        return message

    def identify(traits):
        return {"type": "identify", "userId": f"{prefix}-user", "traits": traits}
    anonymous = track(anonymousId=f"a{SLOT}")
    del anonymous["userId"]
    return [
        ("userId", track(userId=f"{prefix}-u{SLOT}")),
        ("anonymousId", anonymous),
        ("event", track(event=f"Bad{SLOT}Text")),
        ("messageId", track(messageId=f"{prefix}-m{SLOT}")),
        ("trait key", identify({f"na{SLOT}me": "Ann"})),
        ("trait value", identify({"name": f"A{SLOT}nn"})),
        ("property key", track(properties={f"pl{SLOT}an": "pro"})),
        ("property value", track(properties={"plan": f"p{SLOT}ro"})),
        ("nested property value", track(properties={"items": [{"sku": f"s{SLOT}1"}]})),
        ("context.userAgent", track(context={"userAgent": f"Mozilla{SLOT}"})),
        ("context.library.name", track(context={"library": {"name": f"lib{SLOT}", "version": "1"}})),
        ("context key", track(context={f"cus{SLOT}tom": "x"})),
        ("context.traits value", track(context={"traits": {"email": f"x{SLOT}@example.com"}})),
    ]


def invalid_text_payloads(prefix):
    """(label, message type, raw JSON bytes) for every field and every kind of invalid text."""
    payloads = []
    for field, message in invalid_text_messages(prefix):
        text = json.dumps(message).encode()
        assert SLOT.encode() in text
        for kind, bad in INVALID_TEXT.items():
            payloads.append((f"{kind} in {field}", message["type"], text.replace(SLOT.encode(), bad)))
    return payloads


def test_invalid_text_is_refused_by_the_tracking_api(faults):
    profiles = faults.services["profiles"]
    pids = faults.pids()
    space = Space(profiles.url)
    prefix = "txt-" + uuid.uuid4().hex[:8]
    space.send("track", {"userId": f"{prefix}-good", "event": "Before", "messageId": f"{prefix}-before"})
    problems = []
    for label, message_type, body in invalid_text_payloads(prefix):
        response = requests.post(f"{space.url}/v1/{message_type}", data=body, timeout=10,
                                 headers={**space.write_auth(), "Content-Type": "application/json"})
        try:
            error = response.json()
        except ValueError:
            error = None
        if response.status_code != 400:
            problems.append(f"{label}: answered {response.status_code} {response.text[:200]!r}")
        elif not (isinstance(error, dict) and error.get("code") == "invalid_request_error" and error.get("message")
                  and error.get("error") == {"code": error["code"], "message": error["message"]}):
            problems.append(f"{label}: 400 without the JSON error body: {response.text[:200]!r}")
    # A batch with one such message is refused whole.
    batch = json.dumps({"batch": [{"type": "track", "userId": f"{prefix}-good", "event": "In Bad Batch", "messageId": f"{prefix}-batch"},
                                  {"type": "track", "userId": f"{prefix}-good", "event": f"E{SLOT}"}]}).encode()
    response = requests.post(f"{space.url}/v1/batch", data=batch.replace(SLOT.encode(), b"\\u0000"), timeout=10,
                             headers={**space.write_auth(), "Content-Type": "application/json"})
    if response.status_code != 400:
        problems.append(f"a batch with a NUL in one message: answered {response.status_code}")
    space.send("track", {"userId": f"{prefix}-good", "event": "After", "messageId": f"{prefix}-after"})
    # The events before and after are stored; nothing else of the space is.
    good = {f"{prefix}-before", f"{prefix}-after"}
    try:
        stored = assert_stored_exactly_once(faults, space.id, good, timeout=STORE_SECONDS)
        if set(stored) - good:
            problems.append(f"stored although invalid: {sorted(set(stored) - good)[:10]}")
        assert_settles(profiles)
    except AssertionError as failure:
        problems.append(f"the pipeline did not go on: {failure}")
    faults.assert_same_processes(pids)
    assert not problems, f"{len(problems)} invalid payloads not refused properly:\n" + "\n".join(problems)


def test_invalid_text_on_the_tracking_topic_is_dead_lettered_and_the_pipeline_goes_on(faults):
    profiles = faults.services["profiles"]
    pids = faults.pids()
    space = Space(profiles.url)
    prefix = "ktxt-" + uuid.uuid4().hex[:8]
    header = [("write-key", space.write_key.encode())]
    # Six keys per side: the good records cover every partition.
    before = [track_record(space, f"{prefix}-before-{i}") for i in range(6)]
    after = [track_record(space, f"{prefix}-after-{i}") for i in range(6)]
    bad = [("engage.tracking", f"{prefix}-bad-{i}".encode(), body, header)
           for i, (_label, _type, body) in enumerate(invalid_text_payloads(prefix))]
    labels = {f"{prefix}-bad-{i}": label for i, (label, _type, _body) in enumerate(invalid_text_payloads(prefix))}
    # A valid message whose write-key header has a NUL in it.
    nul_key = json.dumps({"type": "track", "userId": f"{prefix}-user", "event": "Nul Key", "messageId": f"{prefix}-nulkey"}).encode()
    bad.append(("engage.tracking", f"{prefix}-bad-writekey".encode(), nul_key, [("write-key", space.write_key.encode() + b"\x00")]))
    labels[f"{prefix}-bad-writekey"] = "NUL in the write-key header"
    reports = faults.produce(before + bad + after)
    produced_at = {record[1].decode(): report for record, report in zip(before + bad + after, reports)}

    good = {record[1].decode() for record in before + after}
    stored = assert_stored_exactly_once(faults, space.id, good, timeout=STORE_SECONDS)
    assert set(stored) == good, f"stored although invalid: {sorted(set(stored) - good)[:10]}"

    letters = faults.read_topic("engage.tracking.dlq", lambda key, _value: (key or "").startswith(f"{prefix}-bad-"),
                                expected=len(bad), timeout=60)
    by_key = {}
    for key, value, headers, _partition, _offset in letters:
        by_key.setdefault(key, []).append((json.loads(value), headers))
    missing = sorted(labels[key] for key in labels if key not in by_key)
    assert not missing, f"{len(missing)} of {len(bad)} invalid records have no dead letter: {missing}"
    for key, [(letter, headers), *_] in by_key.items():
        partition, offset = produced_at[key]
        assert (letter["originalTopic"], letter["partition"], letter["offset"]) == ("engage.tracking", partition, offset), (labels[key], letter)
        assert letter["reason"] and headers.get("dlq-reason"), (labels[key], letter, headers)
    faults.assert_same_processes(pids)
    assert_settles(profiles)


# --- oversized poison records -----------------------------------------------------------------------

# Every topic profiles consumes (ProfilesService.swift) and the group that consumes it.
PROFILES_INPUTS = {
    "engage.tracking": "engage-profiles",
    "engage.subscription-groups": "engage-profiles-feedback",
    "engage.subscription-command-results": "engage-profiles-feedback",
}
MB = 1 << 20


def poison_values(key):
    """A 1 MB JSON text (too large for any message) and 5 MB of bytes that are not UTF-8."""
    head = b'{"type":"track","userId":"' + key.encode() + b'","event":"Poison","properties":{"blob":"'
    tail = b'"}}'
    text = head + b"x" * (MB - len(head) - len(tail)) + tail
    binary = bytes([0xff, 0xfe, 0x00, 0x80]) * (5 * MB // 4)
    assert len(text) == MB and len(binary) == 5 * MB
    return [text, binary]


def good_record(topic, space, key):
    """A valid record for `topic` (after the poison ones) and how to tell that profiles processed it."""
    if topic == "engage.tracking":
        record = track_record(space, f"{key}-good", key=key)
        return record, lambda stack: f"{key}-good" in (stored_message_ids(stack, space.id) or [])
    if topic == "engage.subscription-groups":
        value = {"schemaVersion": 1, "spaceId": space.id, "id": f"{key}-group", "name": "After Poison", "deleted": False, "revision": 1}
        record = (topic, key.encode(), json.dumps(value).encode(), [("contract", b"subscription-group/1")])
        return record, lambda stack: stack.psql(f"SELECT name FROM profiles.subscription_groups WHERE space_id = '{space.id}' "
                                                f"AND id = '{key}-group'") == [["After Poison"]]
    value = {"schemaVersion": 1, "batchId": f"{key}-batch", "spaceId": space.id, "correlationId": f"{key}-no-such-upload",
             "applied": 0, "unchanged": 0, "rejected": []}
    return (topic, key.encode(), json.dumps(value).encode(), [("contract", b"subscription-command-result/1")]), None


def test_oversized_poison_records_are_dead_lettered_truncated_and_the_next_record_is_processed(faults):
    profiles = faults.services["profiles"]
    pids = faults.pids()
    space = Space(profiles.url)
    run = uuid.uuid4().hex[:8]
    plan = []  # (topic, key, [(poison value, (partition, offset))], (partition, offset) of the good record, processed check)
    for topic in PROFILES_INPUTS:
        key = f"poison-{run}-{topic.rsplit('.', 1)[1]}"
        values = poison_values(key)
        good, processed = good_record(topic, space, key)
        # One key: the poison records and the good one share a partition, in this order.
        records = [(topic, key.encode(), value, [("write-key", space.write_key.encode())]) for value in values] + [good]
        # The test producer's record limit is raised to send 5 MB; the broker (Tansu) accepts it.
        reports = faults.produce(records, **{"message.max.bytes": 8 * MB})
        plan.append((topic, key, list(zip(values, reports[:-1])), reports[-1], processed))

    def past_good_record(entry):
        topic, _key, _poisons, (partition, offset), _processed = entry
        committed = faults.committed_offset(PROFILES_INPUTS[topic], topic, partition)
        return committed is not None and committed > offset
    # One deadline for the three topics (their consumers run side by side).
    poll_until(lambda: all(past_good_record(entry) for entry in plan), STORE_SECONDS, interval=1.0)
    problems = []
    for entry in plan:
        topic, _key, _poisons, (partition, offset), processed = entry
        if not past_good_record(entry):
            problems.append(f"{topic}: {PROFILES_INPUTS[topic]} did not get past the record after the poison ones within "
                            f"{STORE_SECONDS}s (partition {partition}, offset {offset}); committed: "
                            f"{faults.committed_offset(PROFILES_INPUTS[topic], topic, partition)}")
        elif processed and poll_until(lambda: processed(faults), 10, interval=0.5) is None:
            problems.append(f"{topic}: the record after the poison ones was committed but its effect is missing")
    if problems:
        groups = sorted({PROFILES_INPUTS[entry[0]] for entry in plan if not past_good_record(entry)})
        logs = "\n".join(f"--- profiles log, group {group}:\n" + profiles.log_excerpt(f'"group":"{group}"') for group in groups)
        raise AssertionError("\n".join(problems) + "\n" + logs)

    for topic, key, poisons, _good, _processed in plan:
        letters = faults.read_topic(topic + ".dlq", lambda k, _v: k == key, expected=len(poisons), timeout=60)
        by_offset = {}
        for letter_key, value, headers, _partition, _offset in letters:
            size = len(value) + len(letter_key or "") + sum(len(k) + len(v) for k, v in headers.items())
            assert size <= DEAD_LETTER_LIMIT, f"{topic}: dead letter of {size} bytes is over the {DEAD_LETTER_LIMIT}-byte limit"
            letter = json.loads(value)
            by_offset[letter.get("offset")] = (letter, headers)
        for value, (partition, offset) in poisons:
            assert offset in by_offset, f"{topic}: no dead letter for the {len(value) // MB} MB record at offset {offset}: " \
                                        f"{[(o, l.get('reason')) for o, (l, _h) in by_offset.items()]}"
            letter, headers = by_offset[offset]
            summary = {k: v for k, v in letter.items() if k not in ("value", "valueBase64")}
            assert letter["originalTopic"] == topic and letter["partition"] == partition, summary
            assert letter.get("truncated") is True, f"{topic}: a dead letter of a {len(value) // MB} MB record must say truncated: {summary}"
            assert letter.get("originalSize") == len(value), f"{topic}: originalSize must be {len(value)}: {summary}"
            assert letter["reason"], summary
            assert (headers.get("dlq-original-topic"), headers.get("dlq-original-partition"), headers.get("dlq-original-offset")) == \
                (topic, str(partition), str(offset)), headers
    faults.assert_same_processes(pids)
    assert_settles(profiles)
