"""The subscriptions service through its API and its topics, with the real broker and Postgres."""
import datetime
import json
import time
import uuid

import requests

from engage_harness import BROKERS, Space, bearer, produce, psql, topic_records, wait_for, wait_for_token


def command_batch(space, source, commands, occurred_at=None):
    at = occurred_at or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {"schemaVersion": 1, "id": "b-" + uuid.uuid4().hex, "spaceId": space.id, "source": source,
            "commands": [{"id": "c-" + uuid.uuid4().hex, "occurredAt": at, "sequence": 0, **c} for c in commands]}


def states(subscriptions, space, key):
    response = requests.get(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", params={"key": key},
                            headers=bearer(space.token))
    assert response.status_code == 200, response.text
    return {c["type"]: c for c in response.json()["data"]["channels"]}


def put(subscriptions, space, items):
    response = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", json={"subscriptions": items},
                            headers=bearer(space.token))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_replace_read_history_and_the_rules(profiles, subscriptions):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    assert requests.get(f"{subscriptions.url}/spaces/{space.id}/subscription-groups").status_code == 401
    group = requests.post(f"{subscriptions.url}/spaces/{space.id}/subscription-groups", json={"name": "Newsletter"},
                          headers=bearer(space.token))
    assert group.status_code == 201, group.text
    duplicate = requests.post(f"{subscriptions.url}/spaces/{space.id}/subscription-groups", json={"name": "newsletter"},
                              headers=bearer(space.token))
    assert duplicate.status_code == 409

    result = put(subscriptions, space, [
        {"key": " Ada@Example.com ", "type": "EMAIL", "status": "SUBSCRIBED", "groups": [{"name": "Newsletter", "status": "SUBSCRIBED"}]},
        {"key": "not-an-email", "type": "EMAIL", "status": "SUBSCRIBED"},
        {"key": "+1 (415) 555-0100", "type": "SMS", "status": "subscribed"},
        {"key": "+14155550101", "type": "SMS", "status": "MAYBE"},
        {"key": "ada@example.com", "type": "EMAIL", "groups": [{"name": "Nope", "status": "SUBSCRIBED"}]},
    ])
    assert [r["result"] for r in result["results"]] == ["applied", "rejected", "applied", "rejected", "rejected"]
    assert [e["code"] for r in result["results"] for e in r["errors"]] == ["INVALID_EMAIL", "INVALID_SUBSCRIPTION_STATUS", "UNKNOWN_GROUP"]

    email = states(subscriptions, space, "ADA@example.com")["EMAIL"]
    assert email["status"] == "subscribed" and email["source"] == "api"
    assert [(g["name"], g["status"]) for g in email["groups"]] == [("Newsletter", "subscribed")]
    assert states(subscriptions, space, "+14155550100")["SMS"]["status"] == "subscribed"
    assert states(subscriptions, space, "+14155550100")["WHATSAPP"]["status"] is None  # no status

    # A body that cannot be stored is refused whole, with the reason.
    nul = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions",
                       json={"subscriptions": [{"key": "x\u0000@example.com", "type": "EMAIL", "status": "SUBSCRIBED"}]},
                       headers=bearer(space.token))
    assert nul.status_code == 400 and "NUL" in nul.json()["error"]["message"], nul.text
    not_json = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", data="{", headers=bearer(space.token))
    assert not_json.status_code == 400 and not_json.json()["error"]["message"].startswith("malformed JSON")

    # Same again: nothing changes.
    again = put(subscriptions, space, [{"key": "ada@example.com", "type": "EMAIL", "status": "subscribed"}])
    assert again["unchanged"] == 1

    # A STOP reply (as messaging-send will publish it) locks the number against API re-subscribes.
    produce("engage.subscription-commands", "+14155550100",
            command_batch(space, "inbound_reply", [{"channel": "SMS", "contact": "+14155550100", "status": "unsubscribed"}]))
    wait_for(lambda: states(subscriptions, space, "+14155550100")["SMS"]["status"] == "unsubscribed", what="STOP applied")
    assert states(subscriptions, space, "+14155550100")["SMS"]["optedOutByReply"] is True
    refused = put(subscriptions, space, [{"key": "+14155550100", "type": "SMS", "status": "SUBSCRIBED"}])
    assert refused["results"][0]["errors"][0]["code"] == "OPTED_OUT_BY_REPLY"
    assert states(subscriptions, space, "+14155550100")["SMS"]["status"] == "unsubscribed"
    produce("engage.subscription-commands", "+14155550100",
            command_batch(space, "inbound_reply", [{"channel": "SMS", "contact": "+14155550100", "status": "subscribed"}]))
    wait_for(lambda: states(subscriptions, space, "+14155550100")["SMS"]["status"] == "subscribed", what="START applied")

    # A command older than the state loses, whenever it arrives.
    produce("engage.subscription-commands", "ada@example.com",
            command_batch(space, "api", [{"channel": "EMAIL", "contact": "ada@example.com", "status": "unsubscribed"}],
                          occurred_at="2020-01-01T00:00:00.000Z"))
    # A global unsubscribe wins over groups.
    put(subscriptions, space, [{"key": "ada@example.com", "type": "EMAIL", "status": "UNSUBSCRIBED"}])
    refused = put(subscriptions, space, [{"key": "ada@example.com", "type": "EMAIL", "groups": [{"name": "Newsletter", "status": "SUBSCRIBED"}]}])
    assert refused["results"][0]["errors"][0]["code"] == "GLOBAL_STATE_NOT_SUBSCRIBED"
    email = states(subscriptions, space, "ada@example.com")["EMAIL"]
    assert email["groups"][0]["effectiveStatus"] == "unsubscribed"

    history = requests.get(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions/history", params={"key": "ada@example.com"},
                           headers=bearer(space.token)).json()["data"]
    assert [(h["type"], h["group"]["name"] if h["group"] else None, h["previousStatus"], h["status"]) for h in history] == [
        ("EMAIL", None, "subscribed", "unsubscribed"),
        ("EMAIL", "Newsletter", None, "subscribed"),
        ("EMAIL", None, None, "subscribed"),
    ]

    # Every effective change, and only those, is on the topic: 3 for ada, 3 for the phone.
    changes = topic_records("engage.subscription-changes", lambda v: v["spaceId"] == space.id, expected=6)
    assert len({c["id"] for c in changes}) == 6, changes
    ada = [c for c in changes if c["contact"] == "ada@example.com"]
    assert sorted((c["previousStatus"] or "", c["status"], c["source"]) for c in ada) == sorted(
        [(h["previousStatus"] or "", h["status"], "api") for h in history])
    phone = [(c["previousStatus"], c["status"], c["source"]) for c in changes if c["contact"] == "+14155550100"]
    assert phone == [(None, "subscribed", "api"), ("subscribed", "unsubscribed", "inbound_reply"),
                     ("unsubscribed", "subscribed", "inbound_reply")]


def test_async_job_and_a_bad_command_record(profiles, subscriptions):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    items = [{"key": f"job{i}@example.com", "type": "EMAIL", "status": "SUBSCRIBED"} for i in range(1200)]
    items[7] = {"key": "bad", "type": "EMAIL", "status": "SUBSCRIBED"}
    created = requests.post(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions/jobs", json={"subscriptions": items},
                            headers=bearer(space.token))
    assert created.status_code == 202, created.text
    job_id = created.json()["data"]["id"]
    job = wait_for(lambda: (lambda j: j if j["status"] == "completed" else None)(
        requests.get(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions/jobs/{job_id}", headers=bearer(space.token)).json()["data"]),
        what="job completion")
    assert (job["applied"], job["rejected"], job["processed"]) == (1199, 1, 1200)
    results = requests.get(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions/jobs/{job_id}/results",
                           params={"offset": 7, "limit": 1}, headers=bearer(space.token)).json()["data"]
    assert results[0]["index"] == 7 and results[0]["errors"][0]["code"] == "INVALID_EMAIL"

    # A record that is not a command batch goes to the dead-letter topic; the next one still applies.
    produce("engage.subscription-commands", "x", b'{"schemaVersion": 1, "spaceId": "' + space.id.encode() + b'"}')
    produce("engage.subscription-commands", "job0@example.com",
            command_batch(space, "unsubscribe_link", [{"channel": "EMAIL", "contact": "job0@example.com", "status": "unsubscribed"}]))
    letters = topic_records("engage.subscription-commands.dlq",
                            lambda v: space.id in json.dumps(v) and "id is required" in v.get("reason", ""), expected=1)
    assert len(letters) == 1, letters
    wait_for(lambda: states(subscriptions, space, "job0@example.com")["EMAIL"]["status"] == "unsubscribed", what="the next command")


def test_groups_lifecycle_cap_pagination_and_token_scope(profiles, subscriptions):
    space, other = Space(profiles.url), Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    wait_for_token(subscriptions.url, other)
    groups_url = f"{subscriptions.url}/spaces/{space.id}/subscription-groups"
    assert requests.get(groups_url, headers=bearer(other.token)).status_code == 403

    news = requests.post(groups_url, json={"name": "News"}, headers=bearer(space.token)).json()["data"]
    deals = requests.post(groups_url, json={"name": "Deals"}, headers=bearer(space.token)).json()["data"]
    assert requests.patch(f"{groups_url}/{deals['id']}", json={"name": "news"}, headers=bearer(space.token)).status_code == 409
    renamed = requests.patch(f"{groups_url}/{deals['id']}", json={"name": "Offers"}, headers=bearer(space.token))
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Offers"
    assert requests.post(groups_url, json={"name": "email"}, headers=bearer(space.token)).status_code == 400
    assert requests.delete(f"{groups_url}/{news['id']}", headers=bearer(space.token)).status_code == 204
    assert [g["name"] for g in requests.get(groups_url, headers=bearer(space.token)).json()["data"]] == ["Offers"]
    gone = put(subscriptions, space, [{"key": "g@example.com", "type": "EMAIL", "groups": [{"name": "News", "status": "SUBSCRIBED"}]}])
    assert gone["results"][0]["errors"][0]["code"] == "UNKNOWN_GROUP"

    # The cap: 200 live groups per space.
    for i in range(199):
        assert requests.post(groups_url, json={"name": f"g{i}"}, headers=bearer(space.token)).status_code == 201
    over = requests.post(groups_url, json={"name": "one-too-many"}, headers=bearer(space.token))
    assert over.status_code == 409 and "200" in over.json()["error"]["message"]

    # History pages newest first, through `next`.
    for status in ["SUBSCRIBED", "UNSUBSCRIBED", "SUBSCRIBED"]:
        put(subscriptions, space, [{"key": "h@example.com", "type": "EMAIL", "status": status}])
    history_url = f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions/history"
    first = requests.get(history_url, params={"key": "h@example.com", "limit": 2}, headers=bearer(space.token)).json()
    assert [h["status"] for h in first["data"]] == ["subscribed", "unsubscribed"] and first["next"]
    rest = requests.get(history_url, params={"key": "h@example.com", "limit": 2, "before": first["next"]}, headers=bearer(space.token)).json()
    assert [h["status"] for h in rest["data"]] == ["subscribed"] and rest.get("next") is None
