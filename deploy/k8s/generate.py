#!/usr/bin/env python3
"""Writes the Kubernetes manifests of swift-engage from one description of the services (SERVICES),
so that the production manifests (base/) and the development overlay (dev/) cannot drift apart.

    python3 deploy/k8s/generate.py          # rewrites deploy/k8s/base and deploy/k8s/dev
    python3 deploy/k8s/generate.py --check  # fails if the committed files differ (run by the tests)

base/: what a platform team applies to its cluster (kubectl apply -k deploy/k8s/base), next to its own
Postgres and Kafka: a ConfigMap, a provisioning Job, and per service a Deployment, Service,
PodDisruptionBudget and HorizontalPodAutoscaler, and the same four for the console (CONSOLE: the web UI,
which only calls the six services' HTTP APIs, so it has no database, no broker and no provisioning).
Secrets are the operator's (secret.example.yaml says which keys). dev/: one file for `podman kube play`
on a single machine: the development Postgres and Tansu broker, the provisioning pod, the six services
and the console on the host network, with development secrets.
"""
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# Consumers scale out to one member per partition; more replicas would only add idle consumers (the
# HTTP side scales further, but then needs more partitions). Keep in step with ENGAGE_KAFKA_TOPIC_PARTITIONS.
PARTITIONS = 6


class Service:
    def __init__(self, name, dev_port, memory, secrets=(), env=None, cpu="250m", memory_request="256Mi"):
        self.name = name
        self.schema = name.replace("-", "_")
        self.dev_port = dev_port
        self.memory = memory
        self.cpu = cpu
        self.memory_request = memory_request
        self.secrets = secrets      # (environment variable, key in the engage-secrets Secret)
        self.env = env or {}


SERVICES = [
    Service("profiles", 8081, "1Gi", secrets=[("ENGAGE_ADMIN_TOKEN", "admin-token")]),
    Service("subscriptions", 8082, "512Mi"),
    Service("audiences", 8083, "1Gi"),
    Service("journeys", 8084, "512Mi"),
    Service("messaging-send", 8085, "512Mi", secrets=[("ENGAGE_SECRETS_KEY", "secrets-key")],
            env={"ENGAGE_MESSAGING_PUBLIC_URL": "https://engage.example.com/messaging"}),
    Service("events-source", 8086, "512Mi", secrets=[("ENGAGE_SECRETS_KEY", "secrets-key")]),
]

# The console: a server-rendered web UI over the six services' public APIs. It holds no data, so it is
# not in SERVICES: no database URL, no role, no broker, no provisioning. Each upstream is the in-cluster
# Service of that name (port 80); the session cookie's key is the same on every replica (a Secret), and
# cookies are Secure because it is reached through TLS (the operator's ingress). Its memory request is
# smaller: it renders pages and holds nothing but the HTTP client's connections.
CONSOLE_UPSTREAMS = {
    "ENGAGE_CONSOLE_PROFILES_URL": "profiles",
    "ENGAGE_CONSOLE_SUBSCRIPTIONS_URL": "subscriptions",
    "ENGAGE_CONSOLE_AUDIENCES_URL": "audiences",
    "ENGAGE_CONSOLE_JOURNEYS_URL": "journeys",
    "ENGAGE_CONSOLE_MESSAGING_URL": "messaging-send",
    "ENGAGE_CONSOLE_EVENTS_SOURCE_URL": "events-source",
}
CONSOLE = Service("console", 8080, "256Mi", secrets=[("ENGAGE_CONSOLE_SESSION_KEY", "console-session-key")],
                  env={"ENGAGE_CONSOLE_SECURE_COOKIES": "true",
                       "ENGAGE_MESSAGING_PUBLIC_URL": "https://engage.example.com/messaging",
                       **{variable: f"http://{name}" for variable, name in CONSOLE_UPSTREAMS.items()}},
                  cpu="100m", memory_request="128Mi")
# The console scales on CPU alone (no partitions to share); its pods are interchangeable.
CONSOLE_MAX_REPLICAS = 4

# The services' shared settings (docs/configuration.md has every variable).
CONFIG = {
    "ENGAGE_KAFKA_BROKERS": "kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092",
    "ENGAGE_KAFKA_TOPIC_PARTITIONS": str(PARTITIONS),
    "ENGAGE_KAFKA_REPLICATION_FACTOR": "3",
    "ENGAGE_LOG_FORMAT": "json",
    "ENGAGE_LOG_LEVEL": "info",
    "ENGAGE_SHUTDOWN_GRACE_SECONDS": "25",
}
VERSION_TAG = "1.0.0"
REGISTRY = "registry.example.com/swift-engage"
LABELS = {"app.kubernetes.io/part-of": "swift-engage"}

# Development overlay: ports on the host network of one machine.
DEV_POSTGRES_PORT = 15432
DEV_BROKER_PORT = 19093
DEV_PASSWORD = "dev-password"
DEV_SECRETS_KEY = "ZGV2LXNlY3JldHMta2V5LTAxMjM0NTY3ODlhYmNkZWY="  # development only
DEV_ADMIN_TOKEN = "dev-admin-token"
DEV_CONSOLE_SESSION_KEY = "ZGV2LWNvbnNvbGUtc2Vzc2lvbi1rZXktMDEyMzQ1Njc="  # development only


# The authority that signed the database's certificate (sslrootcert in the database URLs). Optional, so
# that a database without TLS needs no empty Secret.
DB_CA_DIR = "/etc/engage/db-ca"
DB_CA_MOUNT = {"name": "db-ca", "mountPath": DB_CA_DIR, "readOnly": True}
DB_CA_VOLUME = {"name": "db-ca", "secret": {"secretName": "engage-db-ca", "optional": True}}
DB_QUERY = f"sslmode=verify-full&sslrootcert={DB_CA_DIR}/ca.crt"


def labels(name, component="service"):
    return {**LABELS, "app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


# The console's too: its /health is the process alive, its /ready that profiles answers (people can sign
# in), so a console pod takes no traffic while profiles is down, and is not restarted for it either.
def probes(port):
    def get(path):
        return {"httpGet": {"path": path, "port": port}}
    return {
        # Migrations run before the HTTP server starts: give startup its own, longer allowance.
        "startupProbe": {**get("/health"), "periodSeconds": 2, "failureThreshold": 60},
        # /health fails only when the process is wedged (a loop stalled past ENGAGE_STALL_SECONDS).
        "livenessProbe": {**get("/health"), "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        # /ready fails while Postgres or the broker is unreachable: no traffic then, but no restart.
        "readinessProbe": {**get("/ready"), "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2},
    }


SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def deployment(service, image, env, port, dev=False, database=True, env_from_config=True):
    container = {
        "name": service.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent" if not dev else "Never",
        "ports": [{"name": "http", "containerPort": port}],
        "env": env,
        **probes(port),
        "resources": {"requests": {"cpu": service.cpu, "memory": service.memory_request},
                      "limits": {"memory": service.memory}},
        "securityContext": SECURITY,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    volumes = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    if not dev:
        if database:
            container["volumeMounts"].append(DB_CA_MOUNT)
            volumes.append(DB_CA_VOLUME)
        # Let the load balancer stop sending requests before the server stops accepting them.
        container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
        if env_from_config:
            container["envFrom"] = [{"configMapRef": {"name": "engage-config"}}]
    pod = {
        "metadata": {"labels": labels(service.name)},
        "spec": {
            # preStop (5 s) + ENGAGE_SHUTDOWN_GRACE_SECONDS (25 s: finish the batch, commit, flush) + margin.
            "terminationGracePeriodSeconds": 40,
            "automountServiceAccountToken": False,
            "containers": [container],
            "volumes": volumes,
        },
    }
    if dev:
        pod["spec"]["hostNetwork"] = True
        pod["spec"]["restartPolicy"] = "Always"
        del container["ports"]  # on the host network the service's own port is the one (podman refuses mappings)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service.name, "labels": labels(service.name)},
        "spec": {
            "replicas": 1 if dev else 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": service.name}},
            # One at a time, never below the wanted count: an upgrade never drops requests or a consumer.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": pod,
        },
    }


def base_documents():
    docs = {}
    docs["config.yaml"] = [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "engage-config", "labels": labels("engage-config", "config")},
        "data": CONFIG,
    }]
    docs["secret.example.yaml"] = [{
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "engage-secrets", "labels": labels("engage-secrets", "config")},
        "type": "Opaque",
        # Example only: create the real Secret from your secret store. Every key is required.
        "stringData": {
            "admin-token": "<random, e.g. openssl rand -hex 32>",
            "secrets-key": "<openssl rand -base64 32; changing it makes stored provider secrets unreadable>",
            # The console's session cookies; changing it signs everyone out.
            "console-session-key": "<openssl rand -base64 32; the same for every console replica>",
            # The superuser's password stays out of the URL (and so out of the Job's command line).
            "database-admin-url": f"postgres://postgres@postgres:5432/engage?{DB_QUERY}",
            "database-admin-password": "<the superuser's password>",
            **{f"database-url-{s.schema}": f"postgres://engage_{s.schema}:<password, hex>@postgres:5432/engage?{DB_QUERY}"
               for s in SERVICES},
            **{f"database-password-{s.schema}": "<the password in database-url-" + s.schema + ">" for s in SERVICES},
        },
    }, {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "engage-db-ca", "labels": labels("engage-db-ca", "config")},
        "type": "Opaque",
        # The PEM of the authority that signed the database server's certificate.
        "stringData": {"ca.crt": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"},
    }]
    docs["provision.yaml"] = provision_documents()
    for service in SERVICES:
        env = [{"name": "ENGAGE_DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": "engage-secrets", "key": f"database-url-{service.schema}"}}}]
        env += [{"name": name, "valueFrom": {"secretKeyRef": {"name": "engage-secrets", "key": key}}}
                for name, key in service.secrets]
        env += [{"name": k, "value": v} for k, v in sorted(service.env.items())]
        docs[f"{service.name}.yaml"] = service_documents(
            service, deployment(service, f"{REGISTRY}/{service.name}:{VERSION_TAG}", env, 8080), PARTITIONS)
    docs[f"{CONSOLE.name}.yaml"] = service_documents(CONSOLE, console_deployment(), CONSOLE_MAX_REPLICAS)
    docs["kustomization.yaml"] = [{
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "labels": [{"pairs": LABELS}],
        "resources": sorted(name for name in docs if name not in ("secret.example.yaml",)),
    }]
    return docs


def console_deployment():
    """The console's Deployment: the services' shape, without the database (no URL, no CA mount) and
    without engage-config's broker settings; of that ConfigMap it takes only what it uses."""
    env = [{"name": name, "valueFrom": {"secretKeyRef": {"name": "engage-secrets", "key": key}}}
           for name, key in CONSOLE.secrets]
    env += [{"name": k, "valueFrom": {"configMapKeyRef": {"name": "engage-config", "key": k}}}
            for k in ("ENGAGE_LOG_FORMAT", "ENGAGE_LOG_LEVEL", "ENGAGE_SHUTDOWN_GRACE_SECONDS")]
    env += [{"name": k, "value": v} for k, v in sorted(CONSOLE.env.items())]
    return deployment(CONSOLE, f"{REGISTRY}/{CONSOLE.name}:{VERSION_TAG}", env, 8080, database=False,
                      env_from_config=False)


def service_documents(service, deployment_document, max_replicas):
    """A Deployment with its Service (port 80), PodDisruptionBudget and HorizontalPodAutoscaler."""
    return [
        deployment_document,
        {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": service.name, "labels": labels(service.name)},
            "spec": {"selector": {"app.kubernetes.io/name": service.name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": service.name, "labels": labels(service.name)},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": service.name}}},
        },
        {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": service.name, "labels": labels(service.name)},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
                "minReplicas": 2,
                "maxReplicas": max_replicas,
                "metrics": [{"type": "Resource",
                             "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
            },
        },
    ]


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def provision_documents():
    """A ConfigMap with deploy/postgres's scripts, and the Job that runs them with the superuser URL."""
    env = [{"name": "ENGAGE_DATABASE_ADMIN_URL",
            "valueFrom": {"secretKeyRef": {"name": "engage-secrets", "key": "database-admin-url"}}},
           {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "engage-secrets", "key": "database-admin-password"}}}]
    env += [{"name": f"ENGAGE_DB_PASSWORD_{s.schema.upper()}",
             "valueFrom": {"secretKeyRef": {"name": "engage-secrets", "key": f"database-password-{s.schema}"}}} for s in SERVICES]
    return [
        {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "engage-provision", "labels": labels("engage-provision", "provision")},
            "data": {"provision.sh": read("deploy/postgres/provision.sh"), "provision.sql": read("deploy/postgres/provision.sql")},
        },
        {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "engage-provision", "labels": labels("engage-provision", "provision")},
            "spec": {
                "backoffLimit": 10,
                "ttlSecondsAfterFinished": 3600,
                "template": {
                    "metadata": {"labels": labels("engage-provision", "provision")},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "automountServiceAccountToken": False,
                        "containers": [{
                            "name": "provision",
                            "image": "postgres:16",
                            "command": ["bash", "/provision/provision.sh"],
                            "env": env,
                            "volumeMounts": [{"name": "scripts", "mountPath": "/provision"}, DB_CA_MOUNT],
                            "securityContext": {**SECURITY, "runAsUser": 999, "runAsGroup": 999},
                            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                        }],
                        "volumes": [{"name": "scripts", "configMap": {"name": "engage-provision"}}, DB_CA_VOLUME],
                    },
                },
            },
        },
    ]


def dev_documents():
    """Everything on one machine's host network, for `podman kube play` (deploy/containers/run.sh)."""
    admin_url = f"postgres://postgres:{DEV_PASSWORD}@127.0.0.1:{DEV_POSTGRES_PORT}/engage"
    host_pod = {"hostNetwork": True, "restartPolicy": "Always", "automountServiceAccountToken": False}

    def infra(name, image, env, probe):
        return {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels(name, "dev-infrastructure")},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {
                    "metadata": {"labels": labels(name, "dev-infrastructure")},
                    "spec": {**host_pod, "containers": [{
                        "name": name, "image": image, "imagePullPolicy": "Never", "env": env,
                        "livenessProbe": probe,
                        "resources": {"limits": {"memory": "1Gi"}},
                    }]},
                },
            },
        }
    docs = [
        infra("engage-postgres", "localhost/swift-engage/dev-postgres:latest",
              [{"name": "POSTGRES_PASSWORD", "value": DEV_PASSWORD}, {"name": "PGPORT", "value": str(DEV_POSTGRES_PORT)}],
              {"exec": {"command": ["pg_isready", "-h", "127.0.0.1", "-p", str(DEV_POSTGRES_PORT)]}, "periodSeconds": 10}),
        infra("engage-broker", "localhost/swift-engage/dev-tansu:latest",
              [{"name": "TANSU_PORT", "value": str(DEV_BROKER_PORT)}],
              {"tcpSocket": {"port": DEV_BROKER_PORT}, "periodSeconds": 10}),
        {
            # The provisioning Job's work, as a pod that retries until Postgres answers (podman kube
            # play runs pods and deployments, not jobs).
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "engage-provision", "labels": labels("engage-provision", "provision")},
            "spec": {**host_pod, "restartPolicy": "OnFailure", "containers": [{
                "name": "provision", "image": "localhost/swift-engage/dev-postgres:latest", "imagePullPolicy": "Never",
                "command": ["/bin/sh", "-c",
                            "until pg_isready -q -h 127.0.0.1 -p $PGPORT; do sleep 1; done; "
                            "for schema in " + " ".join(s.schema for s in SERVICES) + "; do "
                            "ENGAGE_DB_ROLE_PASSWORD=\"$DEV_PASSWORD\" psql \"$ENGAGE_DATABASE_ADMIN_URL\" -q -X "
                            "-v role=engage_$schema -v schema=$schema -f /dev/stdin <<'SQL' || exit 1\n"
                            + read("deploy/postgres/provision.sql") + "SQL\ndone"],
                "env": [{"name": "ENGAGE_DATABASE_ADMIN_URL", "value": admin_url},
                        {"name": "PGPORT", "value": str(DEV_POSTGRES_PORT)},
                        {"name": "DEV_PASSWORD", "value": DEV_PASSWORD}],
            }]},
        },
    ]
    for service in SERVICES:
        secret_values = {"admin-token": DEV_ADMIN_TOKEN, "secrets-key": DEV_SECRETS_KEY}
        env = [
            {"name": "ENGAGE_DATABASE_URL",
             "value": f"postgres://engage_{service.schema}:{DEV_PASSWORD}@127.0.0.1:{DEV_POSTGRES_PORT}/engage"},
            {"name": "ENGAGE_KAFKA_BROKERS", "value": f"127.0.0.1:{DEV_BROKER_PORT}"},
            {"name": "ENGAGE_HTTP_PORT", "value": str(service.dev_port)},
            {"name": "ENGAGE_LOG_LEVEL", "value": "info"},
            {"name": "ENGAGE_WEBHOOK_ALLOWED_HOSTS", "value": "127.0.0.1"},
        ]
        env += [{"name": name, "value": secret_values[key]} for name, key in service.secrets]
        env += [{"name": k, "value": v.replace("https://engage.example.com/messaging", f"http://127.0.0.1:{service.dev_port}")}
                for k, v in sorted(service.env.items())]
        docs.append(deployment(service, f"localhost/swift-engage/{service.name}:latest", env, service.dev_port, dev=True))
    # The console over the six on their host ports, plain http (no Secure cookies), a development key.
    upstream_ports = {s.name: s.dev_port for s in SERVICES}
    env = [
        {"name": "ENGAGE_HTTP_PORT", "value": str(CONSOLE.dev_port)},
        {"name": "ENGAGE_LOG_LEVEL", "value": "info"},
        {"name": "ENGAGE_CONSOLE_SESSION_KEY", "value": DEV_CONSOLE_SESSION_KEY},
        {"name": "ENGAGE_CONSOLE_SECURE_COOKIES", "value": "false"},
        {"name": "ENGAGE_MESSAGING_PUBLIC_URL", "value": f"http://127.0.0.1:{upstream_ports['messaging-send']}"},
    ]
    env += [{"name": variable, "value": f"http://127.0.0.1:{upstream_ports[name]}"}
            for variable, name in sorted(CONSOLE_UPSTREAMS.items())]
    docs.append(deployment(CONSOLE, f"localhost/swift-engage/{CONSOLE.name}:latest", env, CONSOLE.dev_port, dev=True,
                           database=False))
    return {"engage-dev.yaml": docs}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True  # every document stands alone: no &anchors


def _string(dumper, value):
    # Scripts read as scripts: multi-line strings as literal blocks.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _string)


def render(documents):
    header = "# Generated by deploy/k8s/generate.py from its SERVICES; edit that, not this file.\n"
    return header + "".join("---\n" + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120) for doc in documents)


def outputs():
    files = {}
    for name, documents in base_documents().items():
        files[os.path.join(HERE, "base", name)] = render(documents)
    for name, documents in dev_documents().items():
        files[os.path.join(HERE, "dev", name)] = render(documents)
    return files


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in outputs().items():
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
    if check and stale:
        sys.exit("out of date (run python3 deploy/k8s/generate.py): " + ", ".join(stale))
    if not check:
        print("\n".join(stale) if stale else "up to date")


if __name__ == "__main__":
    main()
