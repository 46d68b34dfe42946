"""The provider fakes on their own (no services, no build): what they record is filterable per space,
and the callbacks they simulate reach the right space's webhook, signed.

Runs with `python3 -m pytest Tests/EndToEnd/test_provider_fakes.py -q -p no:cacheprovider`; it uses
none of conftest's service fixtures."""
import base64
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import pytest
import requests

FAKES_DIR = os.path.join(os.path.dirname(__file__), "..", "Fakes")
sys.path.insert(0, FAKES_DIR)
from provider_fakes import SENDGRID_KEYS, TWILIO_ACCOUNT, TWILIO_API_KEY, TWILIO_API_SECRET, TWILIO_AUTH_TOKEN, twilio_signature  # noqa: E402

SPACE_A, SPACE_B = "spa_fakesA", "spa_fakesB"


@pytest.fixture(scope="module")
def fakes():
    port_file = os.path.join(tempfile.mkdtemp(prefix="fakes-"), "port")
    process = subprocess.Popen([sys.executable, os.path.join(FAKES_DIR, "provider_fakes.py"), "--port", "0", "--port-file", port_file],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            assert process.poll() is None and time.monotonic() < deadline, "the provider fakes did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(open(port_file).read())}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def receiver():
    """Plays messaging-send's webhooks: records every POST, answers TwiML to inbound messages."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            answer = b"<Response><Message>Help text</Message></Response>" if self.path.endswith("/inbound") else b""
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


def send_email(fakes, space, message_id, to):
    """A mail/send as messaging-send makes it: its message and space ids in the custom args."""
    response = requests.post(f"{fakes}/v3/mail/send", headers={"Authorization": f"Bearer {next(iter(SENDGRID_KEYS))}"}, json={
        "personalizations": [{"to": [{"email": to}], "custom_args": {"engage_message_id": message_id, "engage_space_id": space}}],
        "from": {"email": "news@shop.example"}, "subject": "Hi", "content": [{"type": "text/plain", "value": "Hello"}]})
    assert response.status_code == 202, response.text
    return response.headers["X-Message-Id"]


def send_sms(fakes, space, message_id, to, callback_base):
    """A Messages.json call as messaging-send makes it: the StatusCallback names the space and message."""
    callback = f"{callback_base}/webhooks/twilio/{space}/status?message_id={message_id}"
    response = requests.post(f"{fakes}/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages.json", auth=(TWILIO_API_KEY, TWILIO_API_SECRET),
                             data={"To": to, "From": "+14155550000", "Body": "Hi", "StatusCallback": callback})
    assert response.status_code == 201, response.text
    return response.json()["sid"]


def listed(fakes, **params):
    response = requests.get(f"{fakes}/_fake/requests", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_recorded_requests_are_filtered_per_space(fakes, receiver):
    requests.post(f"{fakes}/_fake/reset")
    send_email(fakes, SPACE_A, "msg-a1", "ada@example.com")
    send_sms(fakes, SPACE_A, "msg-a2", "+14155550101", receiver.url)
    send_email(fakes, SPACE_B, "msg-b1", "bob@example.com")
    send_sms(fakes, SPACE_B, "msg-b2", "+14155550102", receiver.url)
    # A refused request that names no space is recorded, under no space.
    refused = requests.post(f"{fakes}/v3/mail/send", headers={"Authorization": f"Bearer {next(iter(SENDGRID_KEYS))}"},
                            json={"personalizations": [{"to": [{"email": "eve@example.com"}]}]})
    assert refused.status_code == 400, refused.text

    a = listed(fakes, space_id=SPACE_A)
    assert sorted((r["kind"], r["recipient"], r["engage_message_id"]) for r in a) == [
        ("sendgrid", "ada@example.com", "msg-a1"), ("twilio", "+14155550101", "msg-a2")]
    assert {r["space_id"] for r in a} == {SPACE_A}
    assert [r["recipient"] for r in listed(fakes, space_id=SPACE_B, kind="twilio")] == ["+14155550102"]
    assert listed(fakes, space_id="spa_nobody") == []
    assert [r["space_id"] for r in listed(fakes, kind="sendgrid") if r["status"] == 400] == [None]
    assert len(listed(fakes)) == 5
    assert requests.get(f"{fakes}/_fake/count", params={"space_id": SPACE_B}).json() == {"count": 2}

    # Resetting one space leaves the other's records.
    assert requests.post(f"{fakes}/_fake/reset", params={"space_id": SPACE_A}).status_code == 200
    assert listed(fakes, space_id=SPACE_A) == []
    assert len(listed(fakes, space_id=SPACE_B)) == 2


def test_simulated_callbacks_reach_each_spaces_webhook(fakes, receiver):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    requests.post(f"{fakes}/_fake/reset")
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    config = requests.post(f"{fakes}/_fake/config", json={"sendgrid_event_url": receiver.url + "/webhooks/sendgrid/{space_id}",
                                                         "sendgrid_private_key": pem})
    assert config.status_code == 200, config.text
    send_email(fakes, SPACE_A, "msg-a1", "ada@example.com")
    x_message_id = send_email(fakes, SPACE_B, "msg-b1", "bob@example.com")
    del receiver.received[:]

    # An event about B's email, found by SendGrid's X-Message-Id, goes to B's webhook only, signed.
    answer = requests.post(f"{fakes}/_fake/sendgrid-event", json={"message_id": x_message_id, "event": "click",
                                                                  "url": "https://shop.example/sale"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["posted"] == [{"url": f"{receiver.url}/webhooks/sendgrid/{SPACE_B}", "status": 200}]
    [batch] = receiver.received
    assert batch["path"] == f"/webhooks/sendgrid/{SPACE_B}"
    [event] = json.loads(batch["body"])
    assert (event["event"], event["email"], event["url"]) == ("click", "bob@example.com", "https://shop.example/sale")
    assert (event["engage_message_id"], event["engage_space_id"]) == ("msg-b1", SPACE_B)
    assert event["sg_message_id"].startswith(x_message_id + ".")
    signed = batch["headers"]["x-twilio-email-event-webhook-timestamp"].encode() + batch["body"]
    key.public_key().verify(base64.b64decode(batch["headers"]["x-twilio-email-event-webhook-signature"]), signed, ec.ECDSA(hashes.SHA256()))

    # The engage message id finds the send too; an unknown id is a 404.
    by_engage_id = requests.post(f"{fakes}/_fake/sendgrid-event", json={"message_id": "msg-a1", "event": "delivered"})
    assert by_engage_id.json()["posted"][0]["url"].endswith(f"/webhooks/sendgrid/{SPACE_A}")
    assert requests.post(f"{fakes}/_fake/sendgrid-event", json={"message_id": "nope", "event": "open"}).status_code == 404

    # An inbound SMS, signed with the account's auth token over the URL it is posted to; the reply comes back.
    del receiver.received[:]
    inbound_url = f"{receiver.url}/webhooks/twilio/{SPACE_A}/inbound"
    answer = requests.post(f"{fakes}/_fake/twilio-inbound", json={"url": inbound_url, "from": "+14155550101", "to": "+14155550000",
                                                                  "body": "HELP"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == 200 and "Help text" in answer.json()["body"]
    [call] = receiver.received
    params = urllib.parse.parse_qsl(call["body"].decode(), keep_blank_values=True)
    assert dict(params)["Body"] == "HELP" and dict(params)["AccountSid"] == TWILIO_ACCOUNT
    assert call["headers"]["x-twilio-signature"] == twilio_signature(inbound_url, params, TWILIO_AUTH_TOKEN)

    # A status callback goes to the StatusCallback the send named: the right space and message.
    del receiver.received[:]
    sid = send_sms(fakes, SPACE_B, "msg-b2", "+14155550102", receiver.url)
    assert requests.post(f"{fakes}/_fake/twilio-callback", json={"sid": sid, "status": "delivered"}).status_code == 200
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)
    [status] = receiver.received
    assert status["path"] == f"/webhooks/twilio/{SPACE_B}/status?message_id=msg-b2"
    assert dict(urllib.parse.parse_qsl(status["body"].decode()))["MessageStatus"] == "delivered"
