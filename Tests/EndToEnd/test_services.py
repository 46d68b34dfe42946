"""Every service boots, migrates its schema, reports health, and stops cleanly on SIGTERM."""
import pytest
import requests

from engage_harness import ServiceProcess, psql


@pytest.mark.parametrize("name", ["subscriptions", "audiences", "journeys", "messaging-send", "events-source"])
def test_service_boots_reports_health_and_stops_on_sigterm(name, log_dir):
    service = ServiceProcess(name, log_dir).start()
    try:
        assert requests.get(service.url + "/health").json() == {"status": "ok"}
        ready = requests.get(service.url + "/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"postgres": "ok", "broker": "ok"}
        metrics = requests.get(service.url + "/metrics")
        assert metrics.status_code == 200 and metrics.headers["Content-Type"].startswith("text/plain")
        schema = name.replace("-", "_")
        assert psql(f"SELECT version FROM {schema}.schema_migrations ORDER BY version")[0] == ["1"]
    finally:
        assert service.terminate(timeout=30) == 0


def test_profiles_stops_cleanly_on_sigterm(log_dir):
    service = ServiceProcess("profiles", log_dir).start()
    assert service.terminate(timeout=30) == 0
