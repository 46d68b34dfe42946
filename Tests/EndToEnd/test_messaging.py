"""messaging-send with real processes: providers (local strict fakes), consent, at-most-once sends,
retries, callbacks, STOP replies, unsubscribe links and forged webhooks. The API's validation
(templates, messages, destinations) is tested in process (Tests/MessagingSendTests/Routes)."""
import json
import time
import uuid

import requests

from engage_harness import produce, psql, topic_records, wait_for
from messaging_helpers import SENDGRID_KEY, TWILIO, MessagingSpace, form_post, sendgrid_post

UNSUB_HTML = "<p>Hi {{profile.traits.first_name | default: \"there\"}}</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>"


def test_providers_are_verified_and_secrets_never_leave(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    wrong = ms.api("POST", "/messaging/providers/sendgrid/verify", {"apiKey": "SG.wrong", "baseUrl": fakes.url})
    assert wrong.status_code == 422 and "refused" in wrong.json()["message"]
    auth_token_sid = ms.api("PUT", "/messaging/providers/twilio", {**TWILIO, "apiKeySid": TWILIO["accountSid"], "baseUrl": fakes.url,
                                                                   "fromNumber": "+14155550000"})
    assert auth_token_sid.status_code == 400 and "API key" in auth_token_sid.json()["message"]
    bad_secret = ms.api("PUT", "/messaging/providers/twilio", {**TWILIO, "apiKeySecret": "nope", "baseUrl": fakes.url, "fromNumber": "+14155550000"})
    assert bad_secret.status_code == 422
    shown = ms.api("GET", "/messaging/providers/twilio").json()["data"]
    assert shown["apiKeySecretConfigured"] and shown["authTokenConfigured"]
    text = str(shown) + ms.api("GET", "/messaging/providers/sendgrid").text
    assert "fake-api-key-secret" not in text and "fake-auth-token" not in text and "SG.fake-key-1" not in text
    sealed = psql(f"""SELECT count(*) FROM messaging_send.providers WHERE space_id = '{ms.id}'
                      AND position(convert_to('fake', 'UTF8') in sealed_secrets) = 0 AND position(convert_to('SG.', 'UTF8') in sealed_secrets) = 0""")
    assert sealed == [["2"]]  # both rows, neither holding a secret in clear


def test_only_subscribed_recipients_get_the_rendered_message(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    ada_email, bob_email = f"ada-{uuid.uuid4().hex[:6]}@example.com", f"bob-{uuid.uuid4().hex[:6]}@example.com"
    ada = ms.person("Ada", email=ada_email)
    bob = ms.person("Bob", email=bob_email)
    ms.subscribe([{"key": ada_email, "type": "EMAIL", "status": "SUBSCRIBED"}, {"key": bob_email, "type": "EMAIL", "status": "UNSUBSCRIBED"}])
    template = ms.template("EMAIL", "Sale", {"subject": "Hi {{profile.traits.first_name}}", "html": UNSUB_HTML, "text": "Sale {{unsubscribe_link}}"})
    # The replica learns the states from engage.subscription-changes.
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'")[0][0] == "2",
             what="subscription states to reach messaging")
    to_ada = ms.send(ada, "EMAIL", template)
    to_bob = ms.send(bob, "EMAIL", template)
    receipt = ms.template("EMAIL", "Receipt", {"subject": "Your receipt", "text": "Thanks"}, purpose="transactional")
    transactional = ms.send(bob, "EMAIL", receipt, purpose="transactional")
    # A marketing template stays marketing whatever the request says.
    relabelled = ms.send(bob, "EMAIL", template, purpose="transactional")
    assert ms.wait_state(to_ada, "sent")["templateVersion"] == 1
    skipped = ms.wait_state(to_bob, "skipped")
    assert skipped["reason"] == "not_subscribed" and "unsubscribed" in skipped["errorMessage"]
    ms.wait_state(transactional, "sent")
    assert ms.wait_state(relabelled, "skipped")["reason"] == "not_subscribed"

    mails = [r for r in fakes.requests("sendgrid") if r["body"]["personalizations"][0]["custom_args"]["engage_message_id"] in (to_ada, to_bob)]
    assert len(mails) == 1 and mails[0]["status"] == 202
    body = mails[0]["body"]
    assert body["personalizations"][0]["to"] == [{"email": ada_email}]
    assert body["subject"] == "Hi Ada" and body["from"] == {"email": "news@shop.example", "name": "Shop"}
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["headers"]["List-Unsubscribe"].startswith(f"<{messaging.url}/u/")
    assert "Hi Ada" in body["content"][1]["value"]

    bob_events = ms.events(to_bob, expected=1)
    assert [(e["event"], e["reason"], e["profileId"]) for e in bob_events] == [("Email Skipped", "not_subscribed", bob)]
    assert bob_events[0]["contact"] == bob_email  # like every other message event, not only inside errorMessage
    ada_events = ms.events(to_ada, expected=1)
    assert ada_events[0]["event"] == "Email Processed" and ada_events[0]["templateVersion"] == 1 and ada_events[0]["contact"] == ada_email


def test_provider_errors_retry_then_send_once_or_fail_with_the_code(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    flaky, refused = "+1415555" + str(uuid.uuid4().int)[:4], "+1415556" + str(uuid.uuid4().int)[:4]
    flaky_id = ms.person("Flaky", phone=flaky)
    refused_id = ms.person("Refused", phone=refused)
    template = ms.template("SMS", "Receipt", {"body": "Order shipped, {{profile.traits.first_name}}"}, purpose="transactional")
    fakes.control("script", {"recipient": flaky, "answers": [500, {"status": 429, "retry_after": 1}, 201]})
    fakes.control("script", {"recipient": refused, "answers": [{"status": 400, "code": 21211, "message": "Invalid 'To' Phone Number"}]})
    started = time.monotonic()
    first = ms.send(flaky_id, "SMS", template, purpose="transactional")
    second = ms.send(refused_id, "SMS", template, purpose="transactional")
    sent = ms.wait_state(first, "sent", timeout=60)
    assert sent["attempts"] == 3 and time.monotonic() - started >= 1.0  # backoff and Retry-After waited
    failed = ms.wait_state(second, "failed")
    assert failed["errorCode"] == "21211" and failed["attempts"] == 1
    calls = [r["status"] for r in fakes.requests("twilio") if r["recipient"] == flaky]
    assert calls == [500, 429, 201]
    accepted = [r for r in fakes.requests("twilio") if r["recipient"] == flaky and r["status"] == 201][0]
    assert accepted["form"]["Body"] == ["Order shipped, Flaky"] and accepted["form"]["From"] == ["+14155550000"]
    assert accepted["form"]["StatusCallback"][0].startswith(f"{messaging.url}/webhooks/twilio/{ms.id}/status?message_id=")
    failure = ms.events(second, expected=1)[0]
    assert failure["event"] == "SMS Failed" and failure["errorCode"] == "21211"


def test_a_redelivered_request_and_a_bad_one(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    phone = "+1415557" + str(uuid.uuid4().int)[:4]
    person = ms.person("Twice", phone=phone)
    template = ms.template("SMS", "Once", {"body": "once"}, purpose="transactional")
    request = {"schemaVersion": 1, "id": "req-" + uuid.uuid4().hex, "spaceId": ms.id, "profileId": person, "channel": "SMS",
               "templateId": template, "purpose": "transactional", "test": False, "occurredAt": "2026-11-23T10:00:00Z"}
    for _ in range(3):
        produce("engage.message-requests", person, request)
    produce("engage.message-requests", person, {**request, "id": "", "channel": "PIGEON"})
    ms.wait_state(request["id"], "sent")
    dead = topic_records("engage.message-requests.dlq", lambda d: ms.id in (d.get("value") or ""), expected=1)
    assert "PIGEON" in dead[0]["reason"] or "channel" in dead[0]["reason"]
    assert len([r for r in fakes.requests("twilio") if r["recipient"] == phone]) == 1


def test_stop_reply_unsubscribes_and_the_next_marketing_sms_is_skipped(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    phone = "+1415558" + str(uuid.uuid4().int)[:4]
    person = ms.person("Stopper", phone=phone)
    ms.subscribe([{"key": phone, "type": "SMS", "status": "SUBSCRIBED"}])
    wait_for(lambda: psql(f"SELECT status FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'") == [["subscribed"]],
             what="the SMS state to reach messaging")
    template = ms.template("SMS", "Deals", {"body": "Deals for {{profile.traits.first_name}}"})
    first = ms.send(person, "SMS", template)
    sent = ms.wait_state(first, "sent")
    fakes.control("twilio-callback", {"sid": sent["providerMessageId"], "status": "delivered"})
    wait_for(lambda: ms.message(first)["deliveryStatus"] == "delivered", what="the delivered callback")
    assert [e["event"] for e in ms.events(first, expected=2)] == ["SMS Queued", "SMS Delivered"]

    inbound = f"{messaging.url}/webhooks/twilio/{ms.id}/inbound"
    params = [("MessageSid", "SM" + uuid.uuid4().hex), ("AccountSid", TWILIO["accountSid"]), ("From", phone), ("To", "+14155550000"),
              ("Body", " stop "), ("NumMedia", "0")]
    forged = form_post(inbound, params, token="not-the-token")
    assert forged.status_code == 403
    assert ms.channel_status(phone, "SMS")["status"] == "subscribed"
    help_reply = form_post(inbound, [("MessageSid", "SM" + uuid.uuid4().hex), ("AccountSid", TWILIO["accountSid"]), ("From", phone),
                                     ("To", "+14155550000"), ("Body", "HELP")], token=TWILIO["authToken"])
    assert help_reply.status_code == 200 and "<Message>Shop: reply STOP to opt out.</Message>" in help_reply.text
    stop = form_post(inbound, params, token=TWILIO["authToken"])
    assert stop.status_code == 200, stop.text
    wait_for(lambda: ms.channel_status(phone, "SMS")["status"] == "unsubscribed", what="the STOP reply to unsubscribe")
    assert ms.channel_status(phone, "SMS")["source"] == "inbound_reply"
    wait_for(lambda: psql(f"SELECT status FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'") == [["unsubscribed"]],
             what="the change to reach messaging")
    second = ms.send(person, "SMS", template)
    assert ms.wait_state(second, "skipped")["reason"] == "not_subscribed"
    assert [(e["event"], e["contact"]) for e in ms.events(second, expected=1)] == [("SMS Skipped", phone)]
    assert len([r for r in fakes.requests("twilio") if r["recipient"] == phone]) == 1


def test_sendgrid_events_are_verified_and_become_events_and_commands(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    email = f"eve-{uuid.uuid4().hex[:6]}@example.com"
    person = ms.person("Eve", email=email)
    ms.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED", "groups": [{"name": "Newsletter", "status": "SUBSCRIBED"}]}])
    wait_for(lambda: len(psql(f"SELECT 1 FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'")) == 2, what="states")
    template = ms.template("EMAIL", "News", {"subject": "News", "html": UNSUB_HTML})
    message = ms.send(person, "EMAIL", template, group="Newsletter")
    sent = ms.wait_state(message, "sent")
    url = f"{messaging.url}/webhooks/sendgrid/{ms.id}"
    base = {"email": email, "timestamp": int(time.time()), "sg_message_id": sent["providerMessageId"] + ".filter.1",
            "engage_message_id": message, "engage_space_id": ms.id}
    events = [{**base, "event": "delivered", "sg_event_id": "ev-" + uuid.uuid4().hex},
              {**base, "event": "click", "url": "https://shop.example/sale", "sg_event_id": "ev-" + uuid.uuid4().hex},
              {**base, "event": "group_unsubscribe", "asm_group_id": 42, "sg_event_id": "ev-" + uuid.uuid4().hex}]
    tampered = sendgrid_post(url, events, ms.private_pem, tamper=True)
    assert tampered.status_code == 403
    unsigned = requests.post(url, json=events)
    assert unsigned.status_code == 403
    assert sendgrid_post(url, events, ms.private_pem).status_code == 200
    assert sendgrid_post(url, events, ms.private_pem).status_code == 200  # SendGrid retries: the effects happen once
    got = ms.events(message, expected=4)
    assert sorted(e["event"] for e in got) == ["Email Delivered", "Email Group Unsusbcribed", "Email Link Clicked", "Email Processed"]
    assert [e["url"] for e in got if e["event"] == "Email Link Clicked"] == ["https://shop.example/sale"]
    wait_for(lambda: [g["status"] for g in ms.channel_status(email, "EMAIL")["groups"]] == ["unsubscribed"], what="group unsubscribe")
    assert ms.channel_status(email, "EMAIL")["status"] == "subscribed"

    # One batch, several statuses of one message, out of order: the newest is the message's status.
    later = [{**base, "event": "deferred", "timestamp": base["timestamp"] + 2, "sg_event_id": "ev-" + uuid.uuid4().hex},
             {**base, "event": "delivered", "timestamp": base["timestamp"] + 5, "sg_event_id": "ev-" + uuid.uuid4().hex},
             {**base, "event": "deferred", "timestamp": base["timestamp"] + 3, "sg_event_id": "ev-" + uuid.uuid4().hex}]
    assert sendgrid_post(url, later, ms.private_pem).status_code == 200
    assert ms.message(message)["deliveryStatus"] == "delivered"


def test_unsigned_sendgrid_events_need_a_key_or_an_explicit_opt_in(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    email = f"val-{uuid.uuid4().hex[:6]}@example.com"
    ms.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"}])
    wait_for(lambda: ms.channel_status(email, "EMAIL")["status"] == "subscribed", what="the subscription")
    url = f"{messaging.url}/webhooks/sendgrid/{ms.id}"
    # The space id is in every unsubscribe link: without a key, an unsigned batch changes nothing.
    settings = {"apiKey": SENDGRID_KEY, "baseUrl": fakes.url, "fromAddress": "news@shop.example"}
    assert ms.api("PUT", "/messaging/providers/sendgrid", settings).status_code == 200
    forged = [{"email": email, "timestamp": int(time.time()), "event": "unsubscribe", "sg_event_id": "ev-" + uuid.uuid4().hex}]
    refused = requests.post(url, json=forged)
    assert refused.status_code == 403 and "allowUnsignedEvents" in refused.json()["error"]["message"], refused.text
    opted_in = ms.api("PUT", "/messaging/providers/sendgrid", {**settings, "allowUnsignedEvents": True})
    assert opted_in.status_code == 200 and opted_in.json()["data"]["settings"]["allowUnsignedEvents"] is True, opted_in.text
    wait_for(lambda: requests.post(url, json=forged).status_code == 200, what="the opt-in to take effect")
    wait_for(lambda: ms.channel_status(email, "EMAIL")["status"] == "unsubscribed", what="the opted-in unsigned unsubscribe")


def test_large_integer_traits_keep_their_exact_value_into_merge_tags(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    order_id, account = 9007199254740993, -12345678901234567890123  # 2^53 + 1: a Double would make it ...992
    person = ms.person("Ola", order_id=order_id, account=account)
    traits = ms.space.profile(f"user_id:{ms.last_user_id}", "traits").json()["traits"]
    assert traits["order_id"] == order_id and traits["account"] == account, traits
    template = ms.template("SMS", "Order", {"body": "Order {{profile.traits.order_id}} ({{profile.traits.account}})"},
                           purpose="transactional")
    expected = f"Order {order_id} ({account})"
    wait_for(lambda: ms.api("POST", f"/templates/{template}/preview", {"profileId": person}).json()["data"]["rendered"]["body"] == expected,
             what="the exact trait values in the rendered body")


def test_unsubscribe_link_confirms_on_get_and_unsubscribes_on_one_click_post(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    email = f"uma-{uuid.uuid4().hex[:6]}@example.com"
    person = ms.person("Uma", email=email)
    ms.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"}])
    wait_for(lambda: len(psql(f"SELECT 1 FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'")) == 1, what="state")
    template = ms.template("EMAIL", "Promo", {"subject": "Promo", "html": UNSUB_HTML})
    message = ms.send(person, "EMAIL", template)
    ms.wait_state(message, "sent")
    mail = [r for r in fakes.requests("sendgrid") if r["body"]["personalizations"][0]["custom_args"]["engage_message_id"] == message][0]
    link = mail["body"]["headers"]["List-Unsubscribe"].strip("<>")
    assert link in mail["body"]["content"][0]["value"]
    page = requests.get(link)
    assert page.status_code == 200 and "<form method=\"post\">" in page.text and email in page.text
    assert ms.channel_status(email, "EMAIL")["status"] == "subscribed"  # a GET (or a mail scanner) changes nothing
    assert requests.post(link[:-3] + "xyz", data="List-Unsubscribe=One-Click").status_code == 404
    done = requests.post(link, data="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"},
                         allow_redirects=False)
    assert done.status_code == 200 and "unsubscribed" in done.text
    wait_for(lambda: ms.channel_status(email, "EMAIL")["status"] == "unsubscribed", what="one-click unsubscribe")
    assert ms.channel_status(email, "EMAIL")["source"] == "unsubscribe_link"


def test_whatsapp_content_templates_media_and_test_sends(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    phone = "+1415559" + str(uuid.uuid4().int)[:4]
    email = f"wes-{uuid.uuid4().hex[:6]}@example.com"
    person = ms.person("Wes", email=email, phone=phone)
    content_sid = "HX" + "a" * 32
    whatsapp = ms.template("WHATSAPP", "Order update", {"contentSid": content_sid, "contentVariables": {"1": "{{profile.traits.first_name}}"}},
                           purpose="transactional")
    mms = ms.template("SMS", "Picture", {"body": "Look, {{profile.traits.first_name}}", "mediaUrls": ["https://cdn.shop.example/a.png"]},
                      purpose="transactional")
    ms.wait_state(ms.send(person, "WHATSAPP", whatsapp, purpose="transactional"), "sent")
    ms.wait_state(ms.send(person, "SMS", mms, purpose="transactional"), "sent")
    calls = {r["form"]["To"][0]: r["form"] for r in fakes.requests("twilio") if r["recipient"] in (phone, "whatsapp:" + phone)}
    assert calls["whatsapp:" + phone]["From"] == ["whatsapp:+14155550001"]
    assert calls["whatsapp:" + phone]["ContentSid"] == [content_sid]
    assert json.loads(calls["whatsapp:" + phone]["ContentVariables"][0]) == {"1": "Wes"}
    assert calls[phone]["Body"] == ["Look, Wes"] and calls[phone]["MediaUrl"] == ["https://cdn.shop.example/a.png"]

    receipt = ms.template("EMAIL", "Receipt", {"subject": "Receipt for {{profile.traits.first_name}}", "text": "Thanks"}, purpose="transactional")
    test_send = ms.api("POST", f"/templates/{receipt}/test-sends", {"profileId": person})
    assert test_send.status_code == 202, test_send.text
    test_id = test_send.json()["data"]["messageId"]
    assert ms.wait_state(test_id, "sent")["test"] is True
    mail = [r for r in fakes.requests("sendgrid") if r["body"]["personalizations"][0]["custom_args"]["engage_message_id"] == test_id]
    assert len(mail) == 1 and mail[0]["body"]["subject"] == "Receipt for Wes" and "engage-test" in mail[0]["body"]["categories"]
    assert [(e["event"], e["test"]) for e in ms.events(test_id, expected=1)] == [("Email Processed", True)]


def test_machine_opens_and_spam_reports(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    email = f"sam-{uuid.uuid4().hex[:6]}@example.com"
    person = ms.person("Sam", email=email)
    ms.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"}])
    wait_for(lambda: len(psql(f"SELECT 1 FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'")) == 1, what="state")
    message = ms.send(person, "EMAIL", ms.template("EMAIL", "Promo", {"subject": "Promo", "html": UNSUB_HTML}))
    sent = ms.wait_state(message, "sent")
    base = {"email": email, "timestamp": int(time.time()), "sg_message_id": sent["providerMessageId"] + ".filter.1",
            "engage_message_id": message, "engage_space_id": ms.id}
    events = [{**base, "event": "open", "sg_machine_open": True, "sg_event_id": "ev-" + uuid.uuid4().hex},
              {**base, "event": "open", "sg_machine_open": False, "sg_event_id": "ev-" + uuid.uuid4().hex},
              {**base, "event": "spamreport", "sg_event_id": "ev-" + uuid.uuid4().hex}]
    assert sendgrid_post(f"{messaging.url}/webhooks/sendgrid/{ms.id}", events, ms.private_pem).status_code == 200
    got = sorted(e["event"] for e in ms.events(message, expected=4))
    assert got == ["Email Machine Opened", "Email Marked as Spam", "Email Opened", "Email Processed"]
    # A spam report is the strongest unsubscribe there is.
    wait_for(lambda: ms.channel_status(email, "EMAIL")["status"] == "unsubscribed", what="the spam report to unsubscribe")


def test_every_twilio_status_of_an_outbound_message_is_its_engage_event_once(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    phone = "+1415554" + str(uuid.uuid4().int)[:4]
    person = ms.person("Tess", phone=phone)
    sms = ms.template("SMS", "Shipped", {"body": "Order shipped"}, purpose="transactional")
    whatsapp = ms.template("WHATSAPP", "Shipped WA", {"body": "Order shipped"}, purpose="transactional")

    # From a number, Twilio answers `queued`: SMS Queued. A `queued` callback repeats it and adds
    # nothing; `receiving` is an inbound message's status and names no event of an outbound one.
    first = ms.send(person, "SMS", sms, purpose="transactional")
    sid = ms.wait_state(first, "sent")["providerMessageId"]
    for status in ("queued", "receiving", "sending", "sent", "delivered"):
        ms.twilio_status(sid, status)
    assert [(e["event"], e["id"]) for e in ms.events(first, expected=4)] == [
        ("SMS Queued", f"{first}:queued"), ("SMS Sending", f"{first}:sending"), ("SMS Sent", f"{first}:sent"),
        ("SMS Delivered", f"{first}:delivered")]

    to_whatsapp = ms.send(person, "WHATSAPP", whatsapp, purpose="transactional")
    wa_sid = ms.wait_state(to_whatsapp, "sent")["providerMessageId"]
    for status in ("received", "sent", "read", "failed", "canceled"):
        ms.twilio_status(wa_sid, status)
    got = ms.events(to_whatsapp, expected=4)
    assert [e["event"] for e in got] == ["WhatsApp Message Queued", "WhatsApp Message Sent", "WhatsApp Message Read",
                                         "WhatsApp Message Failed"]
    assert got[0]["contact"] == "whatsapp:" + phone

    # Through a Messaging Service, Twilio answers `accepted`: Engage's SMS Processed, then Queued.
    service_sid = "MG" + "3" * 32
    settings = {**TWILIO, "baseUrl": fakes.url, "messagingServiceSid": service_sid, "whatsappFrom": "whatsapp:+14155550001"}
    service = ms.api("PUT", "/messaging/providers/twilio", settings)
    assert service.status_code == 200, service.text
    second = ms.send(person, "SMS", sms, purpose="transactional")
    sid = ms.wait_state(second, "sent")["providerMessageId"]
    call = [r for r in fakes.requests("twilio") if r.get("sid") == sid][0]
    assert call["form"]["MessagingServiceSid"] == [service_sid]
    for status in ("accepted", "queued", "sent", "read"):
        ms.twilio_status(sid, status)
    got = ms.events(second, expected=4)
    assert [e["event"] for e in got] == ["SMS Processed", "SMS Queued", "SMS Sent", "SMS Read"]
    assert ms.message(second)["deliveryStatus"] == "read"
