"""Engage onboarding (stage 1): the email and phone identifiers, read from the trait key a workspace
already uses, reach identity resolution, CSV uploads, consent and sends."""
import uuid

import requests

from engage_harness import Space, bearer, psql, wait_for, wait_for_token
from messaging_helpers import MessagingSpace
from test_csv_upload import finished, upload
from test_subscriptions import states


def read_phone_from(space, key):
    rules = f"{space.url}/admin/spaces/{space.id}/identity-rules"
    rule = requests.put(f"{rules}/phone", headers=space.admin, json={"priority": 4, "limit": 5, "traitKey": key})
    assert rule.status_code == 200, rule.text
    listed = requests.get(rules, headers=space.admin).json()["data"]
    assert {"type": "phone", "priority": 4, "limit": 5, "traitKey": key} in listed


def test_phone_read_from_phone_number_identifies_and_receives_sms(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    space = ms.space
    read_phone_from(space, "phone_number")
    # userId and anonymousId are fields of the message, not traits: they cannot be moved.
    refused = requests.put(f"{space.url}/admin/spaces/{space.id}/identity-rules/user_id", headers=space.admin,
                           json={"priority": 1, "limit": 1, "traitKey": "uid"})
    assert refused.status_code == 400 and "userId" in refused.json()["message"]

    digits = str(uuid.uuid4().int)[:4]
    phone = f"+1415553{digits}"
    user_id = f"sam-{digits}"
    space.send("identify", {"userId": user_id,
                            "traits": {"first_name": "Sam", "phone_number": f"+1 (415) 553-{digits}"}})
    profile = wait_for(lambda: space.profile_id(f"user_id:{user_id}"), what="Sam's profile")
    assert wait_for(lambda: space.profile_id(f"phone:{phone}"), what="the phone identifier") == profile

    ms.subscribe([{"key": phone, "type": "SMS", "status": "SUBSCRIBED"}])
    consent = f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'"
    wait_for(lambda: psql(consent)[0][0] == "1", what="the SMS consent to reach messaging")
    template = ms.template("SMS", "Hello", {"body": "Hi {{profile.traits.first_name}}"})
    wait_for(lambda: ms.api("POST", f"/templates/{template}/preview", {"profileId": profile}).status_code == 200,
             what="Sam's profile to reach messaging")
    sent = ms.wait_state(ms.send(profile, "SMS", template), "sent")
    assert sent["state"] == "sent"
    calls = [r for r in fakes.requests("twilio") if r["recipient"] == phone]
    assert len(calls) == 1 and calls[0]["form"]["Body"][0].startswith("Hi Sam")


def test_csv_reads_phone_from_the_configured_column(profiles, subscriptions):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    read_phone_from(space, "phone_number")
    template = requests.get(f"{profiles.url}/v1/spaces/{space.id}/csv-template", headers=bearer(space.token))
    assert template.text.startswith("user_id,email,anonymous_id,phone_number,email_subscription_status"), template.text

    digits = str(uuid.uuid4().int)[:4]
    phone = f"+1415552{digits}"
    rows = f"user_id,phone_number,sms_subscription_status\r\ncsv-{digits},+1 415 552 {digits},subscribed\r\n"
    created = upload(profiles, space, rows)
    assert created.status_code == 202, created.text
    done = finished(profiles, space, created.json()["data"]["id"])
    assert (done["rowsAccepted"], done["rowsRejected"]) == (1, 0)
    traits = space.profile(f"phone:{phone}", "traits")
    assert traits.status_code == 200, traits.text
    assert traits.json()["traits"] == {"phone_number": phone}
    assert states(subscriptions, space, phone)["SMS"]["status"] == "subscribed"
