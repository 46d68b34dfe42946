"""The dev overlay (deploy/k8s/dev/engage-dev.yaml) running under `podman kube play`, each service in
its own container from the images deploy/containers/build-images.sh built, driven from the host as its
users would: Segment's Python client, the Profile API, the subscriptions API, a Kafka consumer on the
broker's published listener, and the console (web UI) signing a person in. Run by
deploy/containers/run.sh, which plays and tears down the stack."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "EndToEnd"))
DEV_YAML = os.path.join(ROOT, "deploy", "k8s", "dev", "engage-dev.yaml")
DOCUMENTS = [doc for doc in yaml.safe_load_all(open(DEV_YAML)) if doc]


def env_of(name):
    deployment = next(d for d in DOCUMENTS if d["kind"] == "Deployment" and d["metadata"]["name"] == name)
    return {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


BROKERS = env_of("profiles")["ENGAGE_KAFKA_BROKERS"]
os.environ["ENGAGE_TEST_KAFKA_BROKERS"] = BROKERS
os.environ["ENGAGE_TEST_ADMIN_TOKEN"] = env_of("profiles")["ENGAGE_ADMIN_TOKEN"]

from engage_harness import Space, read_records, wait_for  # noqa: E402  (reads the environment above)
from segment.analytics.client import Client  # noqa: E402

from console_checks import check_console  # noqa: E402

SERVICES = ["profiles", "subscriptions", "audiences", "journeys", "messaging-send", "events-source"]
URL = {name: f"http://127.0.0.1:{env_of(name)['ENGAGE_HTTP_PORT']}" for name in SERVICES}
CONSOLE_URL = f"http://127.0.0.1:{env_of('console')['ENGAGE_HTTP_PORT']}"


def podman(*args, check=True):
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True)


def container_of(service):
    """The container of a Deployment's first pod (`<name>-pod-0-<container>` under podman kube play)."""
    return f"{service}-pod-0-{service}"


def ready(service):
    try:
        return requests.get(URL[service] + "/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Traffic:
    """Tracking calls from the host with Segment's client, one identify per person, until stopped."""

    def __init__(self, space):
        self.space = space
        self.prefix = "c-" + uuid.uuid4().hex[:8]
        self.sent, self.failed = [], []
        self.client = Client(space.write_key, host=URL["profiles"], sync_mode=True, max_retries=0,
                             on_error=lambda error, batch: self.failed.append(str(error)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            user = f"{self.prefix}-{len(self.sent)}"
            before = len(self.failed)
            try:
                self.client.identify(user_id=user, traits={"email": f"{user}@example.com", "plan": "pro"})
            except Exception as error:  # the service is down: a client retries later, as this one does
                self.failed.append(str(error))
            if len(self.failed) == before:
                self.sent.append(user)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def wait_sent(self, count, timeout=30):
        wait_for(lambda: len(self.sent) >= count, timeout=timeout, what=f"{count} tracking calls accepted")


def assert_every_profile_stored(space, users, timeout=90):
    missing = users
    deadline = time.monotonic() + timeout
    while missing and time.monotonic() < deadline:
        missing = [u for u in missing if space.profile(f"user_id:{u}", "traits").status_code != 200]
        if missing:
            time.sleep(1)
    assert not missing, f"{len(missing)} of {len(users)} accepted people never stored, e.g. {missing[:3]}"


def test_every_service_runs_in_its_own_container_as_a_non_root_user():
    for service in SERVICES:
        wait_for(lambda: ready(service), timeout=180, interval=1, what=f"{service} /ready in its container")
        container = container_of(service)
        inspect = json.loads(podman("inspect", container).stdout)[0]
        assert inspect["Config"]["User"] == "10001:10001", (service, inspect["Config"]["User"])
        assert inspect["ImageName"].startswith(f"localhost/swift-engage/{service}:"), inspect["ImageName"]
        # The service's database role owns only its schema: it is not the superuser.
        assert f"engage_{service.replace('-', '_')}:" in env_of(service)["ENGAGE_DATABASE_URL"]
        # Its resource bundle made it into the image: it serves its OpenAPI document.
        document = requests.get(URL[service] + "/openapi.json", timeout=10)
        assert document.status_code == 200 and document.json()["info"]["title"] == f"swift-engage {service} API"


def test_the_console_runs_in_its_own_container_and_signs_a_person_in():
    """Its image: non-root, no database; ready once the services answer; its bundle and Debian's browser
    libraries served; a space access token signs in and the overview names the space."""
    space = Space(URL["profiles"])
    check_console(CONSOLE_URL, space)
    inspect = json.loads(podman("inspect", container_of("console")).stdout)[0]
    assert inspect["Config"]["User"] == "10001:10001", inspect["Config"]["User"]
    assert inspect["ImageName"].startswith("localhost/swift-engage/console:"), inspect["ImageName"]
    assert not [name for name in env_of("console") if "DATABASE" in name or name.startswith("ENGAGE_KAFKA_")]


def test_a_user_drives_the_stack_from_the_host():
    space = Space(URL["profiles"])
    errors = []
    client = Client(space.write_key, host=URL["profiles"], sync_mode=True, on_error=lambda e, b: errors.append(e), max_retries=2)
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    client.identify(user_id="ada", traits={"email": email, "first_name": "Ada"})
    client.track(user_id="ada", event="Order Completed", properties={"total": 42})
    client.flush()
    assert errors == []
    traits = wait_for(lambda: (r := space.profile("user_id:ada", "traits")).status_code == 200 and r.json()["traits"],
                      timeout=60, what="Ada's traits from the Profile API")
    assert traits == {"email": email, "first_name": "Ada"}

    # A consent change becomes an Engage event on engage.source-events, read through the published listener.
    auth = {"Authorization": f"Bearer {space.token}"}
    # A new space's token reaches the subscriptions service within seconds (401 until then).
    wait_for(lambda: requests.put(f"{URL['subscriptions']}/spaces/{space.id}/messaging-subscriptions", headers=auth, timeout=10,
                                  json={"subscriptions": [{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"}]}).status_code == 200,
             what="the subscription change accepted")
    # A subscribe is Engage's `Channel Subscription Updated`, and for email also `Email Subscribed`
    # (docs/events-source.md).
    events = read_records("engage.source-events", lambda _k, v: json.loads(v).get("properties", {}).get("contact") == email,
                          brokers=BROKERS, expected=2, timeout=90)
    assert sorted(json.loads(r.value)["event"] for r in events) == ["Channel Subscription Updated", "Email Subscribed"]


def test_a_killed_service_container_is_restarted_and_nothing_is_lost():
    space = Space(URL["profiles"])
    with Traffic(space) as traffic:
        traffic.wait_sent(30)
        victim = container_of("profiles")
        state = json.loads(podman("inspect", victim).stdout)[0]["State"]
        started = state["StartedAt"]
        # A crash, as the kernel's OOM killer would do it: SIGKILL to the service's process from outside.
        # (`podman kill` counts as stopped by the user, which a restart policy leaves stopped.)
        os.kill(state["Pid"], signal.SIGKILL)
        wait_for(lambda: json.loads(podman("inspect", victim).stdout)[0]["State"]["StartedAt"] != started and ready("profiles"),
                 timeout=90, interval=1, what="the killed profiles container restarted and ready")
        count = len(traffic.sent)
        traffic.wait_sent(count + 30, timeout=60)
    assert_every_profile_stored(space, traffic.sent)


def test_upgrading_a_service_to_a_new_image_while_traffic_flows_loses_nothing():
    """events-source moves to a newly built tag (podman kube play --replace of its Deployment) while people
    subscribe: every accepted subscription still becomes exactly one event on engage.source-events."""
    new_tag = os.environ.get("ENGAGE_UPGRADE_TAG")
    assert new_tag, "deploy/containers/run.sh builds the upgrade image and sets ENGAGE_UPGRADE_TAG"
    space = Space(URL["profiles"])
    auth = {"Authorization": f"Bearer {space.token}"}
    prefix = "u-" + uuid.uuid4().hex[:8]
    accepted, failures = [], []
    stop = threading.Event()

    def subscribe():
        while not stop.is_set():
            email = f"{prefix}-{len(accepted)}@example.com"
            try:
                response = requests.put(f"{URL['subscriptions']}/spaces/{space.id}/messaging-subscriptions", headers=auth, timeout=10,
                                        json={"subscriptions": [{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"}]})
                (accepted if response.status_code == 200 else failures).append(email if response.status_code == 200 else response.text)
            except requests.RequestException as error:
                failures.append(str(error))
            time.sleep(0.05)

    # A new space's token reaches the subscriptions service within seconds: wait until it does.
    wait_for(lambda: requests.put(f"{URL['subscriptions']}/spaces/{space.id}/messaging-subscriptions", headers=auth, timeout=10,
                                  json={"subscriptions": [{"key": f"warm-{prefix}@example.com", "type": "EMAIL",
                                                           "status": "SUBSCRIBED"}]}).status_code == 200,
             what="the space's token accepted by subscriptions")
    worker = threading.Thread(target=subscribe, daemon=True)
    worker.start()
    try:
        wait_for(lambda: len(accepted) >= 20, what="subscriptions accepted before the upgrade")
        deployment = next(d for d in DOCUMENTS if d["kind"] == "Deployment" and d["metadata"]["name"] == "events-source")
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = f"localhost/swift-engage/events-source:{new_tag}"
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as upgrade:
            yaml.safe_dump(deployment, upgrade)
        podman("kube", "play", "--replace", upgrade.name)
        wait_for(lambda: ready("events-source"), timeout=120, interval=1, what="events-source ready on the new image")
        image = json.loads(podman("inspect", container_of("events-source")).stdout)[0]["ImageName"]
        assert image.endswith(":" + new_tag), image
        count = len(accepted)
        wait_for(lambda: len(accepted) >= count + 20, what="subscriptions accepted after the upgrade")
    finally:
        stop.set()
        worker.join(timeout=30)
    assert failures == []
    # One `Channel Subscription Updated` per accepted subscription (each also has its `Email Subscribed`).
    events = read_records("engage.source-events",
                          lambda _k, v: json.loads(v).get("event") == "Channel Subscription Updated"
                          and str(json.loads(v).get("properties", {}).get("contact", "")).startswith(prefix),
                          brokers=BROKERS, expected=len(accepted), timeout=120)
    emails = [json.loads(r.value)["properties"]["contact"] for r in events]
    assert sorted(emails) == sorted(accepted), f"{len(set(accepted) - set(emails))} missing, {len(emails) - len(set(emails))} doubled"
