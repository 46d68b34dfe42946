"""The deployment files as a platform team reads them: Kubernetes manifests that are generated from one
description and valid against the Kubernetes schemas, and a compose file with no secret in it, every
service gated on /ready and running as its own database role, and the console (the web UI over the
services' APIs) beside them with no database or broker at all. deploy/containers/run.sh runs them for
real under podman (kube play and the images); this checks what can be checked in seconds."""
import glob
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVICES = ["profiles", "subscriptions", "audiences", "journeys", "messaging-send", "events-source"]
# The console's base URL variable of each service (Services/Console/Core/ConsoleConfig.swift).
CONSOLE_UPSTREAMS = {
    "profiles": "ENGAGE_CONSOLE_PROFILES_URL", "subscriptions": "ENGAGE_CONSOLE_SUBSCRIPTIONS_URL",
    "audiences": "ENGAGE_CONSOLE_AUDIENCES_URL", "journeys": "ENGAGE_CONSOLE_JOURNEYS_URL",
    "messaging-send": "ENGAGE_CONSOLE_MESSAGING_URL", "events-source": "ENGAGE_CONSOLE_EVENTS_SOURCE_URL",
}


def test_the_committed_manifests_are_what_the_generator_writes():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "deploy/k8s/generate.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_manifest_is_valid_against_the_kubernetes_schemas():
    files = sorted(f for f in glob.glob(os.path.join(ROOT, "deploy/k8s/*/*.yaml")) if not f.endswith("kustomization.yaml"))
    assert len(files) >= 9
    result = subprocess.run(["kubernetes-validate", "--strict", "--quiet", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def manifests(path):
    return [doc for doc in yaml.safe_load_all(open(os.path.join(ROOT, path))) if doc]


def test_each_service_deployment_probes_ready_and_health_and_outlives_its_drain():
    for service in SERVICES:
        docs = {doc["kind"]: doc for doc in manifests(f"deploy/k8s/base/{service}.yaml")}
        assert set(docs) == {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"}
        pod = docs["Deployment"]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["securityContext"]["runAsNonRoot"] is True
        assert pod["terminationGracePeriodSeconds"] > 25 + 5, "the drain (ENGAGE_SHUTDOWN_GRACE_SECONDS) plus preStop must fit"
        database = next(e for e in container["env"] if e["name"] == "ENGAGE_DATABASE_URL")
        assert database["valueFrom"]["secretKeyRef"]["key"] == f"database-url-{service.replace('-', '_')}"
        partitions = int(manifests("deploy/k8s/base/config.yaml")[0]["data"]["ENGAGE_KAFKA_TOPIC_PARTITIONS"])
        assert docs["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] <= partitions


def test_compose_requires_its_secrets_and_gates_services_on_ready():
    compose = yaml.safe_load(open(os.path.join(ROOT, "docker-compose.yml")))
    text = open(os.path.join(ROOT, "docker-compose.yml")).read()
    assert "change-me" not in text and "dev-admin-token" not in text
    assert "${ENGAGE_ADMIN_TOKEN:?" in text and "${ENGAGE_SECRETS_KEY:?" in text
    kafka = compose["services"]["kafka"]["environment"]
    assert "EXTERNAL://" in kafka["KAFKA_ADVERTISED_LISTENERS"] and kafka["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    for service in SERVICES:
        definition = compose["services"][service]
        assert "/ready" in " ".join(definition["healthcheck"]["test"])
        assert definition["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert f"engage_{service.replace('-', '_')}:" in definition["environment"]["ENGAGE_DATABASE_URL"]
    # The roles are created when the Postgres volume is initialised, by the same provision.sh as elsewhere.
    assert "./deploy/compose/initdb:/docker-entrypoint-initdb.d:ro" in compose["services"]["postgres"]["volumes"]
    assert "provision.sh" in open(os.path.join(ROOT, "deploy/compose/initdb/engage-roles.sh")).read()
    example = open(os.path.join(ROOT, ".env.example")).read()
    for variable in ("POSTGRES_PASSWORD", "ENGAGE_DB_PASSWORD", "ENGAGE_ADMIN_TOKEN", "ENGAGE_SECRETS_KEY"):
        assert f"\n{variable}=\n" in example, f"{variable} must be in .env.example, empty"


def read_text(path):
    return open(os.path.join(ROOT, path)).read()


def env_values(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def assert_holds_no_data_access(container, pod):
    """The console reads and writes only through the services' APIs: nothing of Postgres or the broker."""
    names = [e["name"] for e in container.get("env", [])]
    assert not [n for n in names if "DATABASE" in n or n.startswith(("ENGAGE_DB_", "ENGAGE_KAFKA_"))], names
    assert "envFrom" not in container, "engage-config carries the brokers: the console takes single keys of it"
    secret_keys = [e["valueFrom"]["secretKeyRef"]["key"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
    assert not [k for k in secret_keys if k.startswith("database")], secret_keys
    assert all("secret" not in volume or volume["secret"]["secretName"] != "engage-db-ca" for volume in pod.get("volumes", []))


def test_the_console_deployment_probes_ready_holds_no_database_and_is_least_privileged():
    docs = {doc["kind"]: doc for doc in manifests("deploy/k8s/base/console.yaml")}
    assert set(docs) == {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert pod["terminationGracePeriodSeconds"] > 25 + 5
    assert docs["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert_holds_no_data_access(container, pod)
    # The same least privilege as the services: their security context, no service-account token.
    service_pod = {d["kind"]: d for d in manifests("deploy/k8s/base/profiles.yaml")}["Deployment"]["spec"]["template"]["spec"]
    assert container["securityContext"] == service_pod["containers"][0]["securityContext"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    assert "hostNetwork" not in pod
    # The session key is a Secret's (the same on every replica), never a value in the manifest.
    key = next(e for e in container["env"] if e["name"] == "ENGAGE_CONSOLE_SESSION_KEY")
    assert key["valueFrom"]["secretKeyRef"] == {"name": "engage-secrets", "key": "console-session-key"}
    assert "console-session-key" in manifests("deploy/k8s/base/secret.example.yaml")[0]["stringData"]
    env = env_values(container)
    assert env["ENGAGE_CONSOLE_SECURE_COOKIES"] == "true", "reached through TLS: Secure cookies"
    # Each upstream is the in-cluster Service of that name, which publishes the service on port 80.
    for service, variable in CONSOLE_UPSTREAMS.items():
        published = {d["kind"]: d for d in manifests(f"deploy/k8s/base/{service}.yaml")}["Service"]
        assert published["spec"]["ports"][0]["port"] == 80
        assert env[variable] == f"http://{service}"
    assert "console.yaml" in manifests("deploy/k8s/base/kustomization.yaml")[0]["resources"]
    # Nothing is provisioned for it: no role, no schema, no password.
    assert "console" not in read_text("deploy/k8s/base/provision.yaml")


def test_the_dev_overlay_runs_the_console_against_the_services_on_the_host():
    documents = manifests("deploy/k8s/dev/engage-dev.yaml")
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    pod = deployments["console"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "localhost/swift-engage/console:latest"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert_holds_no_data_access(container, pod)
    env = env_values(container)
    assert env["ENGAGE_CONSOLE_SESSION_KEY"] and env["ENGAGE_CONSOLE_SECURE_COOKIES"] == "false"
    ports = {env_values(deployments[s]["spec"]["template"]["spec"]["containers"][0])["ENGAGE_HTTP_PORT"] for s in SERVICES}
    assert env["ENGAGE_HTTP_PORT"] not in ports
    for service, variable in CONSOLE_UPSTREAMS.items():
        port = env_values(deployments[service]["spec"]["template"]["spec"]["containers"][0])["ENGAGE_HTTP_PORT"]
        assert env[variable] == f"http://127.0.0.1:{port}"


def test_compose_runs_the_console_after_the_services_with_its_key_from_env_and_on_loopback():
    compose = yaml.safe_load(open(os.path.join(ROOT, "docker-compose.yml")))
    text = read_text("docker-compose.yml")
    console = compose["services"]["console"]
    assert "/ready" in " ".join(console["healthcheck"]["test"])
    assert console["depends_on"] == {service: {"condition": "service_healthy"} for service in SERVICES}
    assert console["build"]["args"]["SERVICE"] == "console"
    env = console["environment"]
    assert not [n for n in env if "DATABASE" in n or n.startswith(("ENGAGE_DB_", "ENGAGE_KAFKA_"))], list(env)
    assert env["ENGAGE_CONSOLE_SESSION_KEY"].startswith("${ENGAGE_CONSOLE_SESSION_KEY:?")
    assert "${ENGAGE_CONSOLE_SESSION_KEY:?" in text
    for service, variable in CONSOLE_UPSTREAMS.items():
        assert env[variable] == f"http://{service}:8080"
    # Published on the host's loopback unless the operator opens it.
    (published,) = console["ports"]
    assert published.startswith("${ENGAGE_CONSOLE_BIND:-127.0.0.1}:") and published.endswith(":8080")
    assert re.search(r":\$\{ENGAGE_CONSOLE_PORT:-8080\}:", published), published
    local = yaml.safe_load(open(os.path.join(ROOT, "deploy/compose/local.yml")))
    assert local["services"]["console"]["image"] == "localhost/swift-engage/console:latest"


def test_every_secret_compose_requires_is_in_env_example_and_in_the_container_run():
    required = set(re.findall(r"\$\{([A-Z_]+):\?", read_text("docker-compose.yml")))
    assert "ENGAGE_CONSOLE_SESSION_KEY" in required
    example = read_text(".env.example")
    run = read_text("deploy/containers/run.sh")
    for variable in required:
        assert f"\n{variable}=\n" in example, f"{variable} must be in .env.example, empty"
        assert f"\n{variable}=$(" in run, f"deploy/containers/run.sh must give the compose run {variable}"


def test_the_images_carry_the_console_its_bundle_and_its_browser_libraries():
    built = re.search(r"^SERVICES=\((.*)\)$", read_text("deploy/containers/build-images.sh"), re.M).group(1).split()
    assert built == SERVICES + ["console"]
    setup = read_text("deploy/containers/runtime-setup.sh")
    assert "libjs-chart.js" in setup and "libjs-codemirror" in setup
    for containerfile in ("deploy/Dockerfile", "deploy/containers/Containerfile.local"):
        text = read_text(containerfile)
        assert 'runtime-setup.sh "${SERVICE}"' in text, f"{containerfile} must tell runtime-setup.sh which service"
    # Every image carries its library's resource bundle (the OpenAPI document; the console's
    # templates and assets), named as SwiftPM names it: swift-engage_<Target>.resources.
    assert 'cp -R "${bin}"/swift-engage_*.resources /out/' in read_text("deploy/Dockerfile")
    build = read_text("deploy/containers/build-images.sh")
    assert 'bundle="$bin/swift-engage_$(core_target "$service").resources"' in build
    mapping = subprocess.run(
        ["bash", "-c", re.search(r"^core_target\(\) \{.*?^\}", build, re.M | re.S).group(0)
         + '\nfor s in "$@"; do core_target "$s"; done', "-"] + built,
        capture_output=True, text=True, check=True).stdout.split()
    targets = re.findall(r'core: "(\w+)"', read_text("Package.swift")) + ["ConsoleCore"]
    assert sorted(mapping) == sorted(targets), mapping
    # Only the console's image gets the browser libraries.
    assert re.search(r'if \[ "\$service" = console \]; then\s+extra="libjs-chart.js libjs-codemirror"', setup), setup
