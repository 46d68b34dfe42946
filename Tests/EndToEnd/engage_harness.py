"""Runs the real executables against the Postgres and broker that deploy/dev/test.sh started."""
import json
import os
import signal
import socket
import subprocess
import time
import typing
import urllib.parse
import uuid
import base64

import requests

BIN_PATH = os.environ.get("ENGAGE_BIN_PATH", "")
DATABASE_URL = os.environ.get("ENGAGE_TEST_DATABASE_URL", "")
BROKERS = os.environ.get("ENGAGE_TEST_KAFKA_BROKERS", "")
ADMIN_TOKEN = os.environ.get("ENGAGE_TEST_ADMIN_TOKEN", "e2e-admin-token")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout=30.0, interval=0.1, what="condition"):
    """Polls `condition` until it returns something truthy, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def psql(sql):
    """Runs SQL against the test database and returns rows as lists of strings."""
    out = subprocess.run(["psql", DATABASE_URL, "-At", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


class ServiceProcess:
    """One service executable, started with its own port, stoppable by SIGTERM or SIGKILL."""

    def __init__(self, name, log_dir, extra_env=None):
        self.name = name
        self.port = free_port()
        self.log_path = os.path.join(log_dir, f"{name}-{self.port}.log")
        self.env = dict(os.environ)
        self.env.update({
            "ENGAGE_HTTP_PORT": str(self.port),
            "ENGAGE_DATABASE_URL": DATABASE_URL,
            "ENGAGE_KAFKA_BROKERS": BROKERS,
            "ENGAGE_ADMIN_TOKEN": ADMIN_TOKEN,
            "ENGAGE_KAFKA_MAX_POLL_INTERVAL_MS": "10000",
            "ENGAGE_LOG_LEVEL": "info",
        })
        if OTLP.url:
            # Every service of the run exports its spans to the session's receiver (test_tracing.py).
            self.env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP.url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                             "OTEL_BSP_SCHEDULE_DELAY": "200"})
        self.env.update(extra_env or {})
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._connect_as_own_role()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([os.path.join(BIN_PATH, self.name)], env=self.env, stdout=log, stderr=log)
        wait_for(self._ready, timeout=60, what=f"{self.name} /ready")
        return self

    def _connect_as_own_role(self):
        """Runs the service as its own Postgres role, which owns its schema and nothing else, as in
        production (deploy/postgres/provision.sql, run here with the test database's superuser)."""
        admin_url = self.env["ENGAGE_DATABASE_URL"]
        parts = urllib.parse.urlsplit(admin_url)
        if parts.username != "postgres":
            return  # already a service role (a restart of this process)
        schema = self.env.get("ENGAGE_DB_SCHEMA") or self.name.replace("-", "_")
        role = f"engage_{schema}"
        for attempt in range(3):  # two services provisioned at once may collide on the database's ACL
            done = subprocess.run(["psql", admin_url, "-q", "-X", "-v", f"role={role}", "-v", f"schema={schema}", "-f", PROVISION_SQL],
                                  env={**os.environ, "ENGAGE_DB_ROLE_PASSWORD": SERVICE_DB_PASSWORD}, capture_output=True, text=True)
            if done.returncode == 0:
                break
            assert attempt < 2, f"provision.sql failed for {role}: {done.stderr}"
            time.sleep(0.5)
        netloc = f"{role}:{SERVICE_DB_PASSWORD}@{parts.hostname}:{parts.port}"
        self.env["ENGAGE_DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    def log_excerpt(self, containing, lines=30, width=400):
        """The last `lines` lines of this service's log that contain `containing`, each cut to `width`
        characters: for failure messages, since CI keeps the test output but not the log files."""
        try:
            with open(self.log_path, errors="replace") as log:
                matching = [line.rstrip("\n")[:width] for line in log if containing in line]
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(matching[-lines:]) or f"(no line of {self.log_path} contains {containing!r})"

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
        try:
            return requests.get(self.url + "/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout=30):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=timeout)
        return self.process.returncode if self.process else None


class Space:
    """A space with a source and a Profile API token, created through the admin API."""

    def __init__(self, profiles_url):
        self.url = profiles_url
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        space = requests.post(profiles_url + "/admin/spaces", json={"name": "e2e " + uuid.uuid4().hex[:6]}, headers=admin)
        assert space.status_code == 201, space.text
        self.id = space.json()["id"]
        source = requests.post(f"{profiles_url}/admin/spaces/{self.id}/sources", json={"name": "e2e"}, headers=admin)
        assert source.status_code == 201, source.text
        self.source_id = source.json()["id"]
        self.write_key = source.json()["writeKey"]
        token = requests.post(f"{profiles_url}/admin/spaces/{self.id}/access-tokens", json={"name": "e2e"}, headers=admin)
        assert token.status_code == 201, token.text
        self.token = token.json()["token"]
        self.admin = admin

    def write_auth(self):
        return {"Authorization": "Basic " + base64.b64encode(f"{self.write_key}:".encode()).decode()}

    def profile(self, identifier, endpoint, **params):
        quoted = requests.utils.quote(identifier, safe=":")
        return requests.get(f"{self.url}/v1/spaces/{self.id}/collections/users/profiles/{quoted}/{endpoint}",
                            params=params, auth=(self.token, ""))

    def send(self, path, body):
        """A call to the tracking API (`identify`, `track`, `batch`...) with the source's write key; must succeed."""
        response = requests.post(f"{self.url}/v1/{path}", json=body, headers=self.write_auth())
        assert response.status_code == 200, response.text

    def profile_id(self, identifier):
        """The unified profile id an identifier belongs to (from its newest event), or None before it has one."""
        response = self.profile(identifier, "events", limit=1)
        if response.status_code != 200 or not response.json()["data"]:
            return None
        return response.json()["data"][0]["related"]["users"]

    def all_events(self, identifier):
        """Every event of the profile through the Profile API's cursor pagination."""
        events, cursor = [], None
        while True:
            params = {"limit": 200}
            if cursor:
                params["next"] = cursor
            response = self.profile(identifier, "events", **params)
            if response.status_code == 404:
                return []
            assert response.status_code == 200, response.text
            body = response.json()
            events += body["data"]
            if not body["cursor"]["has_more"]:
                return events
            cursor = body["cursor"]["next"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def wait_for_token(service_url, space):
    """A new space's token reaches the other services through engage.spaces within seconds."""
    wait_for(lambda: requests.get(f"{service_url}/spaces/{space.id}/subscription-groups", headers=bearer(space.token)).status_code == 200,
             timeout=60, what="the space's token to reach the subscriptions service")


class TopicRecord(typing.NamedTuple):
    key: typing.Optional[str]
    value: bytes
    headers: dict
    partition: int
    offset: int


def read_records(topic, match, brokers=None, expected=None, idle=4.0, timeout=60.0):
    """Reads `topic` from the beginning with a fresh consumer group and returns the `TopicRecord`s that
    `match(key, value bytes)` accepts. With `expected`: waits for that many, then reads one more second so
    that extra records show. Without: stops after `idle` seconds without a record (once partitions are
    assigned). `brokers` defaults to the suite's broker."""
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": brokers or BROKERS, "group.id": "e2e-" + uuid.uuid4().hex,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000,
                         "heartbeat.interval.ms": 1000, "max.poll.interval.ms": 10000, "fetch.wait.max.ms": 100})
    consumer.subscribe([topic])
    found, deadline, quiet_since, stop_at = [], time.monotonic() + timeout, None, None
    try:
        while time.monotonic() < deadline and (stop_at is None or time.monotonic() < stop_at):
            message = consumer.poll(0.3)
            if message is not None and not message.error():
                quiet_since = None
                key = message.key().decode(errors="replace") if message.key() is not None else None
                if match(key, message.value()):
                    found.append(TopicRecord(key, message.value(),
                                             {k: (v or b"").decode(errors="replace") for k, v in message.headers() or []},
                                             message.partition(), message.offset()))
                if expected is not None and len(found) >= expected and stop_at is None:
                    stop_at = time.monotonic() + 1.0
            elif expected is None and consumer.assignment():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > idle:
                    break
        return found
    finally:
        consumer.close()


def topic_records(topic, match, expected=None, idle=4.0, timeout=60.0, with_keys=False):
    """`read_records` for JSON topics: the values that `match(value)` accepts, parsed. `with_keys`:
    (key, value, headers) triples instead of values."""
    records = read_records(topic, lambda _key, value: match(json.loads(value)), expected=expected, idle=idle, timeout=timeout)
    return [(r.key, json.loads(r.value), r.headers) if with_keys else json.loads(r.value) for r in records]


def produce(topic, key, value, headers=None):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BROKERS, "enable.idempotence": True})
    producer.produce(topic, key=key, value=value if isinstance(value, (bytes, str)) else json.dumps(value), headers=headers or [])
    assert producer.flush(10) == 0


PROVISION_SQL = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "postgres", "provision.sql")
SERVICE_DB_PASSWORD = "e2e-service-password"
FAKES_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "Fakes", "provider_fakes.py")
SECRETS_KEY = base64.b64encode(b"e2e-secrets-key-0123456789abcdef").decode()


class OTLPReceiver:
    """The local OTLP/HTTP trace receiver (Tests/Fakes/otlp_receiver.py); `url` is set while it runs."""
    url = None

    def __init__(self, log_dir):
        self.log_path = os.path.join(log_dir, "otlp-receiver.log")
        self.process = None

    def start(self):
        import sys
        import tempfile
        port_file = os.path.join(tempfile.mkdtemp(prefix="otlp-"), "port")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, OTLP_SCRIPT, "--port-file", port_file], stdout=log, stderr=log)
        wait_for(lambda: os.path.exists(port_file) and open(port_file).read(), timeout=20, what="the OTLP receiver to listen")
        OTLP.url = f"http://127.0.0.1:{int(open(port_file).read())}"
        return self

    def spans(self, trace_id):
        return requests.get(OTLP.url + "/_fake/spans", params={"trace_id": trace_id}).json()

    def terminate(self):
        OTLP.url = None
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


OTLP = OTLPReceiver
OTLP_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "Fakes", "otlp_receiver.py")


class ProviderFakes:
    """The local SendGrid and Twilio fakes (Tests/Fakes/provider_fakes.py) in their own process."""

    def __init__(self, log_dir):
        self.log_path = os.path.join(log_dir, "provider-fakes.log")
        self.process = None
        self.port = None

    def start(self):
        import sys
        import tempfile
        port_file = os.path.join(tempfile.mkdtemp(prefix="fakes-"), "port")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, FAKES_SCRIPT, "--port-file", port_file], stdout=log, stderr=log)
        wait_for(lambda: os.path.exists(port_file), timeout=20, what="the provider fakes to listen")
        self.port = int(open(port_file).read())
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def requests(self, kind=None, space_id=None):
        params = {k: v for k, v in (("kind", kind), ("space_id", space_id)) if v}
        return requests.get(self.url + "/_fake/requests", params=params).json()

    def control(self, path, body):
        response = requests.post(f"{self.url}/_fake/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def terminate(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
