"""docker-compose.yml under podman-compose with the locally built images (deploy/compose/local.yml):
every service becomes ready as its own database role with the secrets from the env file, a user's
events reach the Profile API, and the console on the host's loopback port 8080 signs a person in. Run by
deploy/containers/run.sh, which starts and removes the project."""
import os
import sys
import uuid

import requests

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "EndToEnd"))
os.environ.setdefault("ENGAGE_TEST_KAFKA_BROKERS", "127.0.0.1:29092")

from engage_harness import Space, wait_for  # noqa: E402
from segment.analytics.client import Client  # noqa: E402

from console_checks import check_console  # noqa: E402

PORTS = {"profiles": 8081, "subscriptions": 8082, "audiences": 8083, "journeys": 8084, "messaging-send": 8085, "events-source": 8086}


def ready(port):
    try:
        return requests.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_every_service_is_ready_and_a_user_is_served():
    for service, port in PORTS.items():
        wait_for(lambda: ready(port), timeout=240, interval=1, what=f"{service} ready under compose")
    space = Space("http://127.0.0.1:8081")
    errors = []
    client = Client(space.write_key, host="http://127.0.0.1:8081", sync_mode=True, on_error=lambda e, b: errors.append(e))
    email = f"lin-{uuid.uuid4().hex[:6]}@example.com"
    client.identify(user_id="lin", traits={"email": email})
    assert errors == []
    traits = wait_for(lambda: (r := space.profile("user_id:lin", "traits")).status_code == 200 and r.json()["traits"],
                      timeout=60, what="the traits through the Profile API")
    assert traits == {"email": email}


def test_the_console_is_published_on_loopback_and_signs_a_person_in():
    # After the services are healthy (depends_on), with the session key from the env file.
    check_console("http://127.0.0.1:8080", Space("http://127.0.0.1:8081"), timeout=240)


def test_a_wrong_admin_token_is_refused():
    response = requests.post("http://127.0.0.1:8081/admin/spaces", json={"name": "x"}, headers={"Authorization": "Bearer dev-admin-token"})
    assert response.status_code == 401
