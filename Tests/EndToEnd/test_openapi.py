"""Every service's OpenAPI document (Services/<Name>/Core/OpenAPI/openapi.json) is valid OpenAPI 3.1,
carries the platform's shared components unchanged, is served as committed at /openapi.json, and
describes what the running service does: schemathesis calls every operation with valid credentials,
and no answer may be a 5xx or differ from what its operation documents."""
import json
import os
import subprocess

import pytest
import requests
from openapi_spec_validator import validate

from engage_harness import ADMIN_TOKEN, Space, bearer, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(os.path.dirname(__file__), "openapi")
# executable name -> (folder under Services/, the session fixture that runs it, a list the space's
# token opens once the service has it)
SERVICES = {
    "profiles": ("Profiles", "profiles", "/v1/spaces/{}/sources"),
    "subscriptions": ("Subscriptions", "subscriptions", "/spaces/{}/subscription-groups"),
    "audiences": ("Audiences", "audiences", "/spaces/{}/audiences"),
    "journeys": ("Journeys", "journeys", "/spaces/{}/journeys"),
    "messaging-send": ("MessagingSend", "messaging", "/spaces/{}/templates"),
    "events-source": ("EventsSource", "events_source", "/spaces/{}/destinations"),
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def document_path(name):
    return os.path.join(ROOT, "Services", SERVICES[name][0], "Core", "OpenAPI", "openapi.json")


def load(name):
    with open(document_path(name)) as file:
        return json.load(file)


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.mark.parametrize("name", SERVICES)
def test_the_document_is_valid_and_complete(name):
    document = load(name)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == f"swift-engage {name} API"
    with open(os.path.join(HERE, "components.json")) as file:
        shared = json.load(file)
    for section, entries in shared.items():
        for key, value in entries.items():
            assert document["components"][section].get(key) == value, f"components.{section}.{key} differs from the shared one"
    ids = []
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        ids.append(operation.get("operationId"))
        assert operation.get("summary"), f"{where} has no summary"
        assert operation.get("tags"), f"{where} has no tag"
        assert "security" in operation or "security" in document, f"{where} does not say how it authenticates"
        assert operation.get("responses"), f"{where} documents no response"
        for parameter in operation.get("parameters", []):
            if "$ref" not in parameter:
                assert "schema" in parameter, f"{where}: parameter {parameter.get('name')} has no schema"
    assert None not in ids and len(ids) == len(set(ids)), "operationIds must be present and unique"
    for operational in ("/health", "/ready", "/metrics", "/openapi.json"):
        assert "get" in document["paths"].get(operational, {}), f"{operational} is not documented"


def test_docs_api_links_to_every_document():
    for name in SERVICES:
        link = os.path.join(ROOT, "docs", "api", f"{name}.json")
        assert os.path.realpath(link) == os.path.realpath(document_path(name)), f"docs/api/{name}.json"


@pytest.mark.parametrize("name", SERVICES)
def test_the_running_service_serves_its_document_and_keeps_to_it(name, request, profiles, log_dir, tmp_path):
    service = request.getfixturevalue(SERVICES[name][1])
    served = requests.get(service.url + "/openapi.json", timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("application/json")
    assert served.json() == load(name)

    space = Space(profiles.url)
    # A new space's token reaches the other services through engage.spaces within seconds.
    wait_for(lambda: requests.get(service.url + SERVICES[name][2].format(space.id), headers=bearer(space.token),
                                  timeout=10).status_code == 200, timeout=60, what=f"the space's token to reach {name}")
    env = dict(os.environ, ENGAGE_SPACE_ID=space.id, ENGAGE_SPACE_TOKEN=space.token, ENGAGE_ADMIN_TOKEN=ADMIN_TOKEN,
               ENGAGE_WRITE_KEY=space.write_key, NO_COLOR="1", PYTHONPATH=HERE)
    report = tmp_path / "report.xml"
    result = subprocess.run(
        ["schemathesis", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run", document_path(name),
         "--url", service.url, "--report", "junit", "--report-junit-path", str(report)],
        env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    with open(os.path.join(log_dir, f"schemathesis-{name}.log"), "w") as file:
        file.write(output)
    assert result.returncode == 0, output[-12000:]
