"""Engage's Messaging destination (an audience connected to Send SMS / WhatsApp / Email actions),
per-message senders, and the messages they left in the listing, with real processes. The API's
refusals are tested in process (Tests/MessagingSendTests/Routes)."""
import uuid

import requests

from engage_harness import produce, topic_records, wait_for
from messaging_helpers import MessagingSpace

SERVICE_SID = "MG" + "3" * 32


def audience(ms, audiences, key, definition):
    # The space's token reaches the audiences service through engage.spaces: 401 until it has.
    response = wait_for(lambda: (r := requests.post(f"{audiences.url}/spaces/{ms.id}/audiences", headers=ms.auth,
                                                    json={"key": key, "name": key.replace("_", " ").title(),
                                                          "definition": definition})).status_code != 401 and r,
                        timeout=60, what="the space's token to reach the audiences service")
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def create_destination(ms, body, status=201):
    # The audience reaches messaging-send through engage.audiences: poll until it is known.
    def attempt():
        response = ms.api("POST", "/messaging-destinations", body)
        return None if response.status_code == 422 and "no audience" in response.text else response
    response = wait_for(attempt, timeout=60, what="the audience to reach messaging-send")
    assert response.status_code == status, response.text
    return response.json()


def twilio_calls(fakes, recipient):
    return [r["form"] for r in fakes.requests("twilio") if r["recipient"] == recipient]


def test_an_audience_entry_sends_each_action_once_with_its_own_sender_and_consent(profiles, subscriptions, audiences, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    tag = uuid.uuid4().hex[:6]
    vip = audience(ms, audiences, f"vip_{tag}", {"type": "trait", "trait": "tier", "operator": "equals", "value": "gold"})
    phone_in = "+1415558" + str(uuid.uuid4().int)[:4]
    phone_out = "+1415557" + str(uuid.uuid4().int)[:4]
    phone_early = "+1415556" + str(uuid.uuid4().int)[:4]
    ms.subscribe([{"key": p, "type": channel, "status": "SUBSCRIBED"} for p in (phone_in, phone_early) for channel in ("SMS", "WHATSAPP")]
                 + [{"key": phone_out, "type": "SMS", "status": "UNSUBSCRIBED"}])
    # Already a member when the destination connects; the switch is off, so no message.
    early = ms.person("Early", phone=phone_early, tier="gold")
    wait_for(lambda: requests.get(f"{audiences.url}/spaces/{ms.id}/audiences/vip_{tag}/size", headers=ms.auth).json()["data"]["size"] == 1,
             what="the early member in the audience")

    bad = ms.api("POST", "/messaging-destinations", {
        "name": "VIP", "audienceId": f"vip_{tag}",
        "actions": [{"type": "send_sms", "from": "12", "body": "hi", "mediaUrl": ["https://x.example/a.png"]},
                    {"type": "send_fax", "body": "hi"}]})
    assert bad.status_code == 422, bad.text
    fields = {p.split(":")[0] for p in bad.json()["problems"]}
    assert {"actions[0].from", "actions[0].mediaUrl", "actions[1].type"} <= fields, bad.text
    unknown = ms.api("POST", "/messaging-destinations", {"name": "x", "audienceId": "no_such_audience",
                                                         "actions": [{"type": "send_sms", "body": "hi"}]})
    assert unknown.status_code == 422 and "no audience" in unknown.json()["message"]

    created = create_destination(ms, {
        "name": "VIP welcome", "audienceId": f"vip_{tag}",
        "actions": [
            {"name": "Welcome SMS", "type": "send_sms", "from": SERVICE_SID, "body": "Welcome to gold, {{profile.traits.first_name}}",
             "mediaUrls": ["https://cdn.shop.example/gold.png"]},
            {"name": "WhatsApp hello", "type": "send_whatsapp", "from": "whatsapp:+14155550009", "contentSid": "HX" + "b" * 32,
             "contentVariables": {"1": "{{profile.traits.first_name}}"}},
            {"name": "Goodbye", "type": "send_sms", "trigger": "audience_exited", "body": "Sorry to see you go"},
            {"name": "Off", "type": "send_sms", "enabled": False, "body": "never"},
        ]})["data"]
    assert created["audienceId"] == vip and created["audienceKey"] == f"vip_{tag}" and created["queuedForExistingMembers"] == 0
    assert [a["id"].startswith("act_") for a in created["actions"]] == [True] * 4
    welcome, hello = created["actions"][0]["id"], created["actions"][1]["id"]

    member = ms.person("Gwen", phone=phone_in, tier="gold")
    refused = ms.person("Otto", phone=phone_out, tier="gold")

    def sms_to(phone):
        return wait_for(lambda: twilio_calls(fakes, phone) or None, timeout=60, what=f"an SMS to {phone}")
    sms = sms_to(phone_in)[0]
    assert sms["MessagingServiceSid"] == [SERVICE_SID] and "From" not in sms
    assert sms["Body"][0].startswith("Welcome to gold, Gwen") and sms["MediaUrl"] == ["https://cdn.shop.example/gold.png"]
    whatsapp = wait_for(lambda: twilio_calls(fakes, "whatsapp:" + phone_in) or None, timeout=60, what="the WhatsApp message")[0]
    assert whatsapp["From"] == ["whatsapp:+14155550009"] and whatsapp["ContentSid"] == ["HX" + "b" * 32]

    # Consent is enforced: the unsubscribed member's send is a Skipped event naming the action.
    def otto_sms():
        page = ms.api("GET", "/messages", params={"destinationId": created["id"], "profileId": refused, "channel": "SMS"}).json()["data"]
        return page if page and page[0]["state"] == "skipped" else None
    listed = wait_for(otto_sms, timeout=60, what="Otto's skipped SMS")
    assert listed[0]["reason"] == "not_subscribed" and listed[0]["actionId"] == welcome and "templateId" not in listed[0]
    skipped = topic_records("engage.message-events", lambda e: e.get("messageId") == listed[0]["id"], expected=1)
    assert skipped[0]["event"] == "SMS Skipped" and skipped[0]["destinationId"] == created["id"] and skipped[0]["actionId"] == welcome

    # Only entries after the connection count, and a disabled action sends nothing.
    mine = ms.api("GET", "/messages", params={"destinationId": created["id"], "profileId": member}).json()["data"]
    assert sorted(m["actionId"] for m in mine) == sorted([welcome, hello])
    everyone = ms.api("GET", "/messages", params={"destinationId": created["id"]}).json()["data"]
    assert {m["profileId"] for m in everyone} == {member, refused} and not twilio_calls(fakes, phone_early)
    assert early not in {m["profileId"] for m in everyone}


def test_existing_members_on_connect_exit_actions_and_at_most_once(profiles, subscriptions, audiences, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    tag = uuid.uuid4().hex[:6]
    audience(ms, audiences, f"lapsed_{tag}", {"type": "trait", "trait": "state", "operator": "equals", "value": "lapsed"})
    phones = ["+1415555" + str(uuid.uuid4().int)[:4] for _ in range(2)]
    ms.subscribe([{"key": p, "type": "SMS", "status": "SUBSCRIBED"} for p in phones])
    user_ids = []
    for name, phone in zip(("Ann", "Ben"), phones):
        ms.person(name, phone=phone, state="lapsed")
        user_ids.append(ms.last_user_id)
    wait_for(lambda: requests.get(f"{audiences.url}/spaces/{ms.id}/audiences/lapsed_{tag}/size", headers=ms.auth).json()["data"]["size"] == 2,
             what="two lapsed members")
    template = ms.template("SMS", f"Come back {tag}", {"body": "We miss you, {{profile.traits.first_name}}"})
    body = {"name": "Win back", "audienceId": f"lapsed_{tag}", "sendToExistingMembers": True,
            "actions": [{"type": "send_sms", "templateId": template},
                        {"type": "send_sms", "trigger": "audience_exited", "body": "Welcome back!"}]}

    # The members' replica is fed by the membership topic: retry until both are known.
    def connected():
        response = ms.api("POST", "/messaging-destinations", body)
        if response.status_code == 201 and response.json()["data"]["queuedForExistingMembers"] == 2:
            return response.json()["data"]
        if response.status_code == 201:
            ms.api("DELETE", f"/messaging-destinations/{response.json()['data']['id']}")
        return None
    destination = wait_for(connected, timeout=60, what="both existing members to be queued")
    for phone in phones:
        wait_for(lambda: len(twilio_calls(fakes, phone)) == 1, timeout=60, what=f"the win-back SMS to {phone}")

    # Re-saving the enabled destination does not reconnect it: no second message to anyone.
    resaved = ms.api("PUT", f"/messaging-destinations/{destination['id']}", {**body, "actions": [
        {**body["actions"][0], "id": destination["actions"][0]["id"]}, {**body["actions"][1], "id": destination["actions"][1]["id"]}]})
    assert resaved.status_code == 200 and resaved.json()["data"]["queuedForExistingMembers"] == 0, resaved.text
    # Disabling and enabling again reconnects, but each (action, entry) sends at most once.
    assert ms.api("PUT", f"/messaging-destinations/{destination['id']}", {**body, "enabled": False,
                  "actions": resaved.json()["data"]["actions"]}).status_code == 200
    again = ms.api("PUT", f"/messaging-destinations/{destination['id']}", {**body, "actions": resaved.json()["data"]["actions"]})
    assert again.status_code == 200 and again.json()["data"]["queuedForExistingMembers"] == 0, again.text

    # A redelivered entry changes nothing: Ann's entry record goes round again before her exit
    # (same key, so it is processed first), and she still has one win-back SMS.
    entries = topic_records("engage.audience-membership", lambda e: e["spaceId"] == ms.id and e["event"] == "Audience Entered",
                            expected=2, with_keys=True)
    ann = wait_for(lambda: ms.space.profile_id(f"user_id:{user_ids[0]}"), what="Ann's profile id")
    key, value, headers = [entry for entry in entries if entry[1]["profileId"] == ann][0]
    produce("engage.audience-membership", key, value, headers=list(headers.items()))
    ms.space.send("identify", {"userId": user_ids[0], "traits": {"state": "active"}})
    exit_sms = wait_for(lambda: [c for c in twilio_calls(fakes, phones[0]) if c["Body"][0].startswith("Welcome back!")] or None,
                        timeout=60, what="the exit SMS")
    assert len(exit_sms) == 1 and len(twilio_calls(fakes, phones[0])) == 2
    assert len(twilio_calls(fakes, phones[1])) == 1
    page = ms.api("GET", "/messages", params={"destinationId": destination["id"], "limit": 2})
    assert page.status_code == 200 and len(page.json()["data"]) == 2 and page.json()["next"]
    rest = ms.api("GET", "/messages", params={"destinationId": destination["id"], "cursor": page.json()["next"]}).json()["data"]
    assert len(page.json()["data"]) + len(rest) == 3
    assert ms.api("DELETE", f"/messaging-destinations/{destination['id']}").status_code == 204
    assert ms.api("GET", f"/messaging-destinations/{destination['id']}").status_code == 404


def test_senders_listing_and_webhook_urls(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    phone = "+1415554" + str(uuid.uuid4().int)[:4]
    person = ms.person("Sid", phone=phone)

    # A sender named by the template, then one named by the request, instead of the space's.
    short_code = ms.template("SMS", "Short code", {"from": "54321", "body": "From the short code"}, purpose="transactional")
    ms.wait_state(ms.send(person, "SMS", short_code, purpose="transactional"), "sent")
    ms.wait_state(ms.send(person, "SMS", short_code, purpose="transactional", **{"from": SERVICE_SID}), "sent")
    senders = [(c.get("From"), c.get("MessagingServiceSid")) for c in twilio_calls(fakes, phone)]
    assert senders == [(["54321"], None), (None, [SERVICE_SID])]

    # The list: newest first, filtered, paged.
    listed = ms.api("GET", "/messages", params={"profileId": person, "channel": "SMS", "templateId": short_code, "limit": 1})
    assert listed.status_code == 200, listed.text
    first = listed.json()
    assert len(first["data"]) == 1 and first["data"][0]["from"] == SERVICE_SID and first["data"][0]["state"] == "sent"
    second = ms.api("GET", "/messages", params={"profileId": person, "templateId": short_code, "limit": 1, "cursor": first["next"]}).json()
    assert second["data"][0]["sender"] == "54321" and "from" not in second["data"][0]
    assert ms.api("GET", "/messages", params={"profileId": person, "status": "skipped"}).json()["data"] == []

    # Full webhook URLs to paste into SendGrid and Twilio, built from the public URL.
    twilio = ms.api("GET", "/messaging/providers/twilio").json()["data"]
    assert twilio["statusCallbackUrl"] == f"{messaging.url}/webhooks/twilio/{ms.id}/status"
    assert twilio["inboundUrl"] == f"{messaging.url}/webhooks/twilio/{ms.id}/inbound"
    sendgrid = ms.api("GET", "/messaging/providers/sendgrid").json()["data"]
    assert sendgrid["eventWebhookUrl"] == f"{messaging.url}/webhooks/sendgrid/{ms.id}"


def test_broadcasts_take_an_audience_key_and_refuse_an_unknown_audience(profiles, subscriptions, messaging, fakes, journeys, audiences):
    from journeys_helpers import JourneySpace
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys, audiences)
    key = "pro_" + uuid.uuid4().hex[:6]
    template = js.template("SMS", "Pro news", {"body": "News for pros"})
    number = "+1415553" + str(uuid.uuid4().int)[:4]
    js.user("Pam", phone=number, plan="pro")
    js.subscribe([{"key": number, "type": "SMS", "status": "SUBSCRIBED"}])
    audience(js, audiences, key, {"type": "trait", "trait": "plan", "operator": "equals", "value": "pro"})
    estimate = wait_for(lambda: (r := js.jget(f"/broadcasts/estimate?audienceId={key}")).status_code == 200
                        and r.json()["data"]["recipients"] == 1 and r.json()["data"], timeout=60, what="the audience by key")
    assert estimate["audienceKey"] == key and estimate["audienceId"].startswith("aud_") and estimate["audienceName"] == key.replace("_", " ").title()
    unknown = js.jrequest("POST", "/broadcasts", {"name": "Nobody", "audienceId": "no_such_audience", "channel": "SMS", "templateId": template})
    assert unknown.status_code == 422 and unknown.json()["problems"][0].startswith('audienceId: no audience "no_such_audience"')
    assert js.jget("/broadcasts/estimate?audienceId=no_such_audience").status_code == 422
    created = js.jrequest("POST", "/broadcasts", {"name": "Pros", "audienceId": key, "channel": "SMS", "templateId": template})
    assert created.status_code == 201 and created.json()["data"]["audienceId"] == estimate["audienceId"], created.text
    wait_for(lambda: any(r["recipient"] == number for r in fakes.requests("twilio")), timeout=60, what="the broadcast SMS")
