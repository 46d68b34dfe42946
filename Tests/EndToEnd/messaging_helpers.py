"""A space with SendGrid and Twilio pointed at the local fakes, and people to message."""
import base64
import datetime
import json
import os
import sys
import time
import urllib.parse
import uuid

import requests

from engage_harness import Space, bearer, psql, topic_records, wait_for

# The fakes' own signing code signs what the tests send as "the provider".
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Fakes"))
from provider_fakes import sign_sendgrid, twilio_signature  # noqa: E402

TWILIO = {"accountSid": "AC" + "1" * 32, "apiKeySid": "SK" + "2" * 32, "apiKeySecret": "fake-api-key-secret",
          "authToken": "fake-auth-token"}
SENDGRID_KEY = "SG.fake-key-1"


def signing_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public = base64.b64encode(key.public_key().public_bytes(serialization.Encoding.DER,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    return pem, public


class MessagingSpace:
    def __init__(self, profiles, subscriptions, messaging, fakes, sms_rate=100):
        self.space = Space(profiles.url)
        self.messaging, self.subscriptions, self.fakes = messaging, subscriptions, fakes
        self.id, self.auth = self.space.id, bearer(self.space.token)
        for service in (messaging, subscriptions):
            wait_for(lambda: requests.get(f"{service.url}/spaces/{self.id}/messaging/providers/sendgrid" if service is messaging
                                          else f"{service.url}/spaces/{self.id}/subscription-groups", headers=self.auth).status_code in (200, 404),
                     timeout=60, what="the space's token to reach the service")
        # SendGrid events are refused unless signed with the space's key (or the space opts in to
        # unsigned ones): the space gets a key, and the fakes and sendgrid_post sign with it.
        self.private_pem, public = signing_key()
        self.group = requests.post(f"{subscriptions.url}/spaces/{self.id}/subscription-groups", json={"name": "Newsletter"},
                                   headers=self.auth).json()
        sendgrid = self.api("PUT", "/messaging/providers/sendgrid",
                            {"apiKey": SENDGRID_KEY, "baseUrl": fakes.url, "fromAddress": "news@shop.example", "fromName": "Shop",
                             "eventWebhookPublicKey": public, "asmGroups": {"42": "Newsletter"}})
        assert sendgrid.status_code == 200, sendgrid.text
        twilio = self.api("PUT", "/messaging/providers/twilio",
                          {**TWILIO, "baseUrl": fakes.url, "fromNumber": "+14155550000", "whatsappFrom": "whatsapp:+14155550001",
                           "helpText": "Shop: reply STOP to opt out.", "messagesPerSecond": sms_rate})
        assert twilio.status_code == 200, twilio.text
        fakes.control("config", {"sendgrid_event_url": f"{messaging.url}/webhooks/sendgrid/{self.id}",
                                 "sendgrid_private_key": self.private_pem, "sendgrid_auto_events": [], "twilio_auto_status": []})

    def api(self, method, path, body=None, **kwargs):
        return requests.request(method, f"{self.messaging.url}/spaces/{self.id}{path}", json=body, headers=self.auth, **kwargs)

    def person(self, name, email=None, phone=None, **traits):
        """Identifies a person through the tracking API and waits until messaging knows them."""
        user_id = f"{name}-{uuid.uuid4().hex[:6]}"
        self.last_user_id = user_id
        body = {"userId": user_id, "traits": {"first_name": name, **traits}}
        if email:
            body["traits"]["email"] = email
        if phone:
            body["traits"]["phone"] = phone
        self.space.send("identify", body)
        pid = wait_for(lambda: self.space.profile_id(f"user_id:{user_id}"), what=f"{name}'s profile")
        template = self.template("SMS", "probe-" + uuid.uuid4().hex[:6], {"body": "hi"}, purpose="transactional")
        wait_for(lambda: self.api("POST", f"/templates/{template}/preview", {"profileId": pid}).status_code == 200,
                 what=f"{name}'s profile to reach the messaging service")
        return pid

    def subscribe(self, items):
        response = requests.put(f"{self.subscriptions.url}/spaces/{self.id}/messaging-subscriptions", json={"subscriptions": items},
                                headers=self.auth)
        assert response.status_code == 200, response.text

    def template(self, channel, name, content, purpose="marketing"):
        response = self.api("POST", "/templates", {"name": name, "channel": channel, "purpose": purpose, "content": content})
        assert response.status_code == 201, response.text
        return response.json()["data"]["id"]

    def send(self, profile_id, channel, template_id, purpose="marketing", **extra):
        response = self.api("POST", "/messages", {"profileId": profile_id, "channel": channel, "templateId": template_id,
                                                  "purpose": purpose, **extra})
        assert response.status_code == 202, response.text
        return response.json()["data"]["messageId"]

    def message(self, message_id):
        response = self.api("GET", f"/messages/{message_id}")
        return response.json()["data"] if response.status_code == 200 else None

    def wait_state(self, message_id, *states, timeout=30):
        return wait_for(lambda: (m := self.message(message_id)) and m["state"] in states and m, timeout=timeout,
                        what=f"message {message_id} to be {states}")

    def events(self, message_id, expected=None):
        return topic_records("engage.message-events", lambda e: e.get("messageId") == message_id, expected=expected)

    def twilio_status(self, sid, status):
        """A signed status callback from the Twilio fake, once the service has taken it in."""
        self.fakes.control("twilio-callback", {"sid": sid, "status": status})
        wait_for(lambda: psql(f"SELECT 1 FROM messaging_send.provider_events WHERE space_id = '{self.id}' "
                              f"AND event_id = 'twilio:{sid}:{status}'"), what=f"the {status} callback to be processed")

    def channel_status(self, key, channel):
        response = requests.get(f"{self.subscriptions.url}/spaces/{self.id}/messaging-subscriptions", params={"key": key},
                                headers=self.auth)
        assert response.status_code == 200, response.text
        return {c["type"]: c for c in response.json()["data"]["channels"]}[channel]


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def form_post(url, params, token, signature=None):
    """A Twilio-style signed form POST."""
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": signature or twilio_signature(url, params, token)}
    return requests.post(url, data=urllib.parse.urlencode(params), headers=headers)


def sendgrid_post(url, events, private_pem, tamper=False):
    body = (json.dumps(events) + "\r\n").encode()
    timestamp = str(int(time.time()))
    signature = sign_sendgrid(body, timestamp, private_pem)
    if tamper:
        body = body.replace(b"delivered", b"bounce")
    return requests.post(url, data=body, headers={"Content-Type": "application/json",
                                                  "X-Twilio-Email-Event-Webhook-Signature": signature,
                                                  "X-Twilio-Email-Event-Webhook-Timestamp": timestamp})
