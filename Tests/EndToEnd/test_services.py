"""Every service boots, migrates its schema, reports health, and stops cleanly on SIGTERM."""
import pytest
import requests

from engage_harness import SECRETS_KEY, ServiceProcess, psql


@pytest.mark.parametrize("name", ["subscriptions", "audiences", "journeys", "messaging-send", "events-source"])
def test_service_boots_reports_health_and_stops_on_sigterm(name, log_dir):
    extra_env = {"ENGAGE_SECRETS_KEY": SECRETS_KEY} if name in ("messaging-send", "events-source") else None
    service = ServiceProcess(name, log_dir, extra_env=extra_env).start()
    try:
        assert requests.get(service.url + "/health").json() == {"status": "ok"}
        ready = requests.get(service.url + "/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"postgres": "ok", "broker": "ok", "loops": "ok"}
        metrics = requests.get(service.url + "/metrics")
        assert metrics.status_code == 200 and metrics.headers["Content-Type"].startswith("text/plain")
        schema = name.replace("-", "_")
        assert psql(f"SELECT version FROM {schema}.schema_migrations ORDER BY version")[0] == ["1"]
    finally:
        assert service.terminate(timeout=30) == 0


def test_profiles_stops_cleanly_on_sigterm(log_dir):
    service = ServiceProcess("profiles", log_dir).start()
    assert service.terminate(timeout=30) == 0


def test_messaging_send_refuses_to_start_without_a_secrets_key(log_dir):
    service = ServiceProcess("messaging-send", log_dir, extra_env={"ENGAGE_SECRETS_KEY": ""})
    with pytest.raises(AssertionError, match="exited with"):
        service.start()
    assert service.process.returncode == 78  # EX_CONFIG: a restart will not help
    with open(service.log_path) as log:
        assert "messaging-send: configuration error: ENGAGE_SECRETS_KEY is required" in log.read()
