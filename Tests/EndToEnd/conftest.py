import os
import tempfile

import pytest

from engage_harness import BIN_PATH, BROKERS, DATABASE_URL, SECRETS_KEY, OTLPReceiver, ProviderFakes, ServiceProcess


@pytest.fixture(scope="session")
def log_dir():
    path = os.environ.get("ENGAGE_E2E_LOG_DIR") or tempfile.mkdtemp(prefix="engage-e2e-")
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def otlp(log_dir):
    """An OTLP receiver started before any service: every service of the run exports its spans to it.
    ENGAGE_E2E_OTLP=0 runs the services with tracing off (as a deployment without OTEL_* does)."""
    if os.environ.get("ENGAGE_E2E_OTLP", "1") == "0":
        yield None
        return
    receiver = OTLPReceiver(log_dir).start()
    yield receiver
    receiver.terminate()


@pytest.fixture(scope="session")
def profiles(log_dir):
    if not (BIN_PATH and DATABASE_URL and BROKERS):
        pytest.fail("run through deploy/dev/test.sh: ENGAGE_BIN_PATH, ENGAGE_TEST_DATABASE_URL, ENGAGE_TEST_KAFKA_BROKERS are unset")
    service = ServiceProcess("profiles", log_dir).start()
    yield service
    service.terminate()


@pytest.fixture(scope="session")
def subscriptions(log_dir, profiles):
    service = ServiceProcess("subscriptions", log_dir).start()
    yield service
    service.terminate()


@pytest.fixture(scope="session")
def fakes(log_dir):
    process = ProviderFakes(log_dir).start()
    yield process
    process.terminate()


def messaging_env():
    return {"ENGAGE_SECRETS_KEY": SECRETS_KEY, "ENGAGE_MESSAGING_PROVIDER_TIMEOUT_MS": "3000",
            "ENGAGE_MESSAGING_PROFILE_WAIT_SECONDS": "20",
            # The provider fakes listen here; schemathesis checks that other hosts are refused.
            "ENGAGE_MESSAGING_PROVIDER_HOSTS": "api.sendgrid.com,api.eu.sendgrid.com,*.twilio.com,127.0.0.1"}


@pytest.fixture(scope="session")
def messaging(log_dir, profiles, subscriptions, fakes):
    service = ServiceProcess("messaging-send", log_dir, extra_env=messaging_env()).start()
    yield service
    service.terminate()


def audiences_env():
    # Timers are polled every 200 ms so that window expiries show promptly in tests.
    return {"ENGAGE_AUDIENCES_TIMER_INTERVAL_MS": "200"}


@pytest.fixture(scope="session")
def audiences(log_dir, profiles, subscriptions):
    service = ServiceProcess("audiences", log_dir, extra_env=audiences_env()).start()
    yield service
    service.terminate()


def events_source_env():
    # Webhook retries in tenths of a second, and a destination pauses after 4 failed attempts. The
    # test receivers listen on 127.0.0.1, which webhooks may not reach unless the operator allows it.
    return {"ENGAGE_WEBHOOK_RETRY_BASE_MS": "100", "ENGAGE_WEBHOOK_RETRY_CAP_MS": "800", "ENGAGE_WEBHOOK_MAX_ATTEMPTS": "4",
            "ENGAGE_WEBHOOK_TIMEOUT_MS": "3000", "ENGAGE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "ENGAGE_SECRETS_KEY": SECRETS_KEY}


@pytest.fixture(scope="session")
def events_source(log_dir, profiles):
    service = ServiceProcess("events-source", log_dir, extra_env=events_source_env()).start()
    yield service
    service.terminate()


def journeys_env():
    # Timers polled every 100 ms: waits of a few seconds end on time in tests.
    return {"ENGAGE_JOURNEYS_TIMER_POLL_MS": "100"}


@pytest.fixture(scope="session")
def journeys(log_dir, profiles, subscriptions, messaging):
    service = ServiceProcess("journeys", log_dir, extra_env=journeys_env()).start()
    yield service
    service.terminate()


def pytest_runtest_logreport(report):
    # On failure, point at the service logs: they hold the reason.
    if report.failed and os.environ.get("ENGAGE_E2E_LOG_DIR"):
        report.sections.append(("service logs", f"see {os.environ['ENGAGE_E2E_LOG_DIR']}"))


@pytest.fixture(scope="session")
def console(log_dir, profiles, subscriptions, audiences, journeys, messaging, events_source):
    from console_helpers import ConsoleProcess
    process = ConsoleProcess(log_dir, {"profiles": profiles, "subscriptions": subscriptions, "audiences": audiences,
                                       "journeys": journeys, "messaging-send": messaging,
                                       "events-source": events_source}).start()
    yield process
    process.terminate()


@pytest.fixture(scope="session")
def browser():
    from console_helpers import launch_browser
    with launch_browser() as launched:
        yield launched


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Each phase's report on the test item, so that a fixture can tell whether its test failed.
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture
def page(browser, request, log_dir):
    """A fresh browser context (no cookies) and page at 1280 px; a screenshot is saved if the test fails."""
    from console_helpers import save_failure_screenshot
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15000)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        save_failure_screenshot(opened, log_dir, request.node.name)
    context.close()
