"""The downstream side of the Engage Events Source: a webhook receiver that verifies signatures the
Standard Webhooks way, a reader of engage.source-events, and message events produced as the
messaging service would produce them."""
import base64
import datetime
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from engage_harness import BROKERS, bearer, topic_records, wait_for


def verify_signature(secret, headers, body, tolerance=300):
    """True when `webhook-signature` holds a v1 HMAC-SHA256 of `id.timestamp.body` under the secret."""
    webhook_id, timestamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not webhook_id or not timestamp or abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
               for part in headers.get("webhook-signature", "").split(" "))


class WebhookReceiver:
    """A local HTTP endpoint that records every delivery and answers as told: `failures[id] = n`
    fails the first n attempts of that delivery; `down = True` fails everything."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts = []      # (webhook-id, status answered, signature ok, body)
        self.accepted = []      # bodies answered 2xx, in arrival order
        self.failures = {}
        self.down = False
        self.secret = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    webhook_id = headers.get("webhook-id")
                    ok = receiver.secret is not None and verify_signature(receiver.secret, headers, body)
                    status = 200
                    if receiver.down:
                        status = 503
                    elif receiver.failures.get(webhook_id, 0) > 0:
                        receiver.failures[webhook_id] -= 1
                        status = 500
                    elif not ok:
                        status = 401
                    receiver.attempts.append((webhook_id, status, ok, body))
                    if status == 200:
                        receiver.accepted.append(json.loads(body))
                answer = b'{"ok":true}' if status == 200 else b'{"error":"try later"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def accepted_ids(self):
        with self.lock:
            return [event["messageId"] for event in self.accepted]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for_events_source(events_source, space):
    wait_for(lambda: requests.get(f"{events_source.url}/spaces/{space.id}/destinations", headers=bearer(space.token)).status_code == 200,
             timeout=60, what="the space's token to reach the events source")


def source_events(space_id, expected=None, match=None, timeout=60.0, with_keys=False):
    """The space's events on engage.source-events."""
    def accept(value):
        return value.get("context", {}).get("engage", {}).get("space_id") == space_id and (match is None or match(value))
    return topic_records("engage.source-events", accept, expected=expected, timeout=timeout, with_keys=with_keys)


def iso(moment=None):
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_event(space_id, event, message_id, profile_id, contact, channel="EMAIL", template="tpl-welcome", suffix=None, **fields):
    """A message-event/1 record as the messaging service writes it."""
    record = {"schemaVersion": 1, "id": f"{message_id}:{suffix or event}", "spaceId": space_id, "event": event, "channel": channel,
              "messageId": message_id, "profileId": profile_id, "contact": contact, "templateId": template, "templateVersion": 1,
              "purpose": "marketing", "journeyId": None, "journeyStepId": None, "broadcastId": None, "test": False,
              "provider": "sendgrid" if channel == "EMAIL" else "twilio", "providerMessageId": "pm-" + message_id, "reason": None,
              "errorCode": None, "errorMessage": None, "url": None, "body": None, "occurredAt": iso(), "recordedAt": iso()}
    record.update(fields)
    return record


class Producer:
    """An idempotent producer for many records at once; `config` adds librdkafka settings."""

    def __init__(self, brokers=None, **config):
        from confluent_kafka import Producer as KafkaProducer
        self.producer = KafkaProducer({"bootstrap.servers": brokers or BROKERS, "enable.idempotence": True, "linger.ms": 5, **config})

    def send(self, topic, key, value, headers=None):
        payload = value if isinstance(value, (bytes, str)) else json.dumps(value)
        while True:
            try:
                self.producer.produce(topic, key=key, value=payload, headers=headers or [])
                return
            except BufferError:
                self.producer.poll(0.05)

    def flush(self, timeout=30):
        assert self.producer.flush(timeout) == 0


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
