"""A crash of messaging-send between "sending" and the provider's answer never produces a second send;
the provider's callback settles the message."""
import uuid

from engage_harness import psql, wait_for
from messaging_helpers import MessagingSpace


def test_crash_during_the_provider_call_never_sends_twice(profiles, subscriptions, messaging, fakes):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    phone = "+1415559" + str(uuid.uuid4().int)[:4]
    person = ms.person("Crash", phone=phone)
    template = ms.template("SMS", "Slow", {"body": "your code is 1234"}, purpose="transactional")
    # The fake takes the message at once but answers only after 30 s: the service dies in between.
    fakes.control("script", {"recipient": phone, "answers": [{"status": 201, "delay": 30}]})
    message = ms.send(person, "SMS", template, purpose="transactional")
    wait_for(lambda: [r for r in fakes.requests("twilio") if r["recipient"] == phone], what="the provider call")
    assert ms.message(message)["state"] == "sending"
    messaging.kill9()
    messaging.start()  # same port: the status callback URL stays valid

    # The lease ends (3 s timeout + 5 s): the outcome is unknown, and the message is not sent again.
    unknown = ms.wait_state(message, "unknown", timeout=60)
    assert unknown["reason"] == "outcome_unknown"
    assert psql(f"SELECT state, attempts FROM messaging_send.messages WHERE space_id = '{ms.id}' AND id = '{message}'") == [["unknown", "1"]]
    calls = [r for r in fakes.requests("twilio") if r["recipient"] == phone]
    assert len(calls) == 1

    # Twilio's status callback reconciles it.
    fakes.control("twilio-callback", {"sid": calls[0]["sid"], "status": "delivered"})
    settled = wait_for(lambda: (m := ms.message(message)) and m["state"] == "sent" and m, what="reconciliation from the callback")
    assert settled["providerMessageId"] == calls[0]["sid"] and settled["deliveryStatus"] == "delivered"
    assert [e["event"] for e in ms.events(message, expected=1)] == ["SMS Delivered"]
    assert len([r for r in fakes.requests("twilio") if r["recipient"] == phone]) == 1
