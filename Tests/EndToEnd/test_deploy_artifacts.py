"""The deployment files as a platform team reads them: Kubernetes manifests that are generated from one
description and valid against the Kubernetes schemas, and a compose file with no secret in it, every
service gated on /ready and running as its own database role. deploy/containers/run.sh runs them for
real under podman (kube play and the images); this checks what can be checked in seconds."""
import glob
import os
import subprocess
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVICES = ["profiles", "subscriptions", "audiences", "journeys", "messaging-send", "events-source"]


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
