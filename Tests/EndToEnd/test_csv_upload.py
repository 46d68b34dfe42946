"""CSV uploads end to end: profiles (identity, traits), subscriptions (states), topics, error report."""
import csv
import io
import uuid

import requests

from engage_harness import Space, bearer, produce, psql, topic_records, wait_for, wait_for_token
from test_subscriptions import command_batch, states


def upload(profiles, space, text, filename="people.csv", content_type="text/csv"):
    return requests.post(f"{profiles.url}/v1/spaces/{space.id}/csv-uploads", params={"filename": filename},
                         data=text.encode() if isinstance(text, str) else text,
                         headers={**bearer(space.token), "Content-Type": content_type})


def finished(profiles, space, upload_id, timeout=120):
    def done():
        body = requests.get(f"{profiles.url}/v1/spaces/{space.id}/csv-uploads/{upload_id}", headers=bearer(space.token)).json()["data"]
        return body if body["status"] == "completed" else None
    return wait_for(done, timeout=timeout, interval=0.2, what=f"upload {upload_id} to complete")


def error_report(profiles, space, upload_id):
    response = requests.get(f"{profiles.url}/v1/spaces/{space.id}/csv-uploads/{upload_id}/errors", headers=bearer(space.token))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["row_number", "error_message", "error_code"]
    return [(int(r[0]), r[2]) for r in rows[1:]], rows


def test_upload_mixed_rows_then_reupload_changes_nothing(profiles, subscriptions):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    assert requests.post(f"{subscriptions.url}/spaces/{space.id}/subscription-groups", json={"name": "News"},
                         headers=bearer(space.token)).status_code == 201
    template = wait_for(lambda: (lambda t: t if "News_subscription_status" in t else None)(
        requests.get(f"{profiles.url}/v1/spaces/{space.id}/csv-template", headers=bearer(space.token)).text),
        what="the group in the CSV template")
    assert template.startswith("user_id,email,anonymous_id,phone,email_subscription_status,sms_subscription_status,whatsapp_subscription_status")

    # The number replied STOP earlier: a CSV cannot re-subscribe it.
    produce("engage.subscription-commands", "+442079460018",
            command_batch(space, "inbound_reply", [{"channel": "SMS", "contact": "+442079460018", "status": "unsubscribed"}]))
    wait_for(lambda: states(subscriptions, space, "+442079460018")["SMS"]["status"] == "unsubscribed", what="STOP")

    run = uuid.uuid4().hex[:6]
    text = "\r\n".join([
        "user_id,email,phone,email_subscription_status,sms_subscription_status,News_subscription_status,plan",
        f"u-{run}-1,Ada-{run}@Example.com,+1 415 555 0100,subscribed,subscribed,subscribed,pro",   # 2 good
        f"u-{run}-2,not-an-email,,subscribed,,,free",                                               # 3 INVALID_EMAIL
        f"u-{run}-3,,12345,,subscribed,,",                                                           # 4 INVALID_PHONE
        f"u-{run}-4,b-{run}@example.com,,maybe,,,",                                                  # 5 INVALID_SUBSCRIPTION_STATUS
        ",,,subscribed,,,gold",                                                                      # 6 MISSING_IDENTIFIER
        f"u-{run}-5,c-{run}@example.com,,unsubscribed,,subscribed,",                                 # 7 GLOBAL_STATE_NOT_SUBSCRIBED
        f"u-{run}-6,d-{run}@example.com,,subscribed,,,",                                             # 8 good
        f"u-{run}-6,d-{run}@example.com,,unsubscribed,,,",                                           # 9 later row wins
        f"u-{run}-7,,+44 20 7946 0018,,subscribed,,",                                                # 10 OPTED_OUT_BY_REPLY
        f"u-{run}-8,e-{run}@example.com,,,,,\"quoted, trait\"",                                      # 11 good, blank statuses
    ]) + "\r\n"
    created = upload(profiles, space, text)
    assert created.status_code == 202, created.text
    first = finished(profiles, space, created.json()["data"]["id"])
    assert (first["rowsTotal"], first["rowsRead"]) == (10, 10)
    assert (first["rowsAccepted"], first["rowsRejected"]) == (4, 6)
    report, _ = error_report(profiles, space, first["id"])
    assert report == [
        (3, "INVALID_EMAIL"), (4, "INVALID_PHONE"), (5, "INVALID_SUBSCRIPTION_STATUS"), (6, "MISSING_IDENTIFIER"),
        (7, "GLOBAL_STATE_NOT_SUBSCRIBED"), (10, "OPTED_OUT_BY_REPLY")]

    # Profiles and traits, as an identify call would have made them.
    traits = space.profile(f"user_id:u-{run}-1", "traits").json()["traits"]
    assert traits == {"email": f"ada-{run}@example.com", "phone": "+14155550100", "plan": "pro"}
    assert space.profile(f"email:e-{run}@example.com", "traits").json()["traits"]["plan"] == "quoted, trait"
    assert space.profile(f"user_id:u-{run}-2", "traits").status_code == 404  # a refused row applies nothing

    # States.
    ada = states(subscriptions, space, f"ada-{run}@example.com")["EMAIL"]
    assert ada["status"] == "subscribed" and ada["source"] == "csv" and ada["groups"][0]["status"] == "subscribed"
    assert states(subscriptions, space, "+14155550100")["SMS"]["status"] == "subscribed"
    assert states(subscriptions, space, f"d-{run}@example.com")["EMAIL"]["status"] == "unsubscribed"
    c = states(subscriptions, space, f"c-{run}@example.com")["EMAIL"]
    assert c["status"] == "unsubscribed" and c["groups"] == []
    assert states(subscriptions, space, "+442079460018")["SMS"]["status"] == "unsubscribed"

    # Changes on the topic: ada email + group + sms, c email, d email once (the file's final word), the STOP.
    def is_ours(v):
        return v["spaceId"] == space.id
    changes = topic_records("engage.subscription-changes", is_ours, expected=6)
    csv_changes = sorted((c["contact"], (c["group"] or {}).get("name", ""), c["status"]) for c in changes if c["source"] == "csv")
    assert csv_changes == sorted([
        (f"ada-{run}@example.com", "", "subscribed"), (f"ada-{run}@example.com", "News", "subscribed"), ("+14155550100", "", "subscribed"),
        (f"c-{run}@example.com", "", "unsubscribed"), (f"d-{run}@example.com", "", "unsubscribed")])
    updates_before = len(topic_records("engage.profile-updates", is_ours))

    # The same file again: same outcome, nothing changes, nothing is emitted.
    second = finished(profiles, space, upload(profiles, space, text).json()["data"]["id"])
    assert (second["rowsAccepted"], second["rowsRejected"]) == (4, 6)
    assert error_report(profiles, space, second["id"])[0] == report
    assert len(topic_records("engage.subscription-changes", is_ours)) == 6
    assert len(topic_records("engage.profile-updates", is_ours)) == updates_before
    history = requests.get(f"{profiles.url}/v1/spaces/{space.id}/csv-uploads", headers=bearer(space.token)).json()["data"]
    assert [u["id"] for u in history] == [second["id"], first["id"]]


def test_bad_files_are_refused_before_any_row_is_applied(profiles, subscriptions):
    space = Space(profiles.url)
    cases = [
        (b"PK\x03\x04rest-of-a-zip", "text/csv", "ZIP archive"),
        ("emial,plan\r\na@b.co,x\r\n", "text/csv", "misspelling of \"email\""),
        ("plan,tier\r\nx,y\r\n", "text/csv", "no identifier column"),
        ("email,newsletter_subscription_status\r\na@b.co,subscribed\r\n", "text/csv", "nor a subscription group"),
        (b"email,plan\r\na@b.co,caf\xe9\r\n", "text/csv", "not valid UTF-8"),
        ("email,plan\r\n\"a@b.co,x\r\n", "text/csv", "never closed"),
        ("", "text/csv", "empty"),
        ('{"email": "a@b.co"}', "application/json", "text/csv"),
    ]
    for body, content_type, reason in cases:
        response = upload(profiles, space, body, content_type=content_type)
        assert response.status_code in (415, 422), (reason, response.status_code, response.text)
        assert reason in response.json()["error"]["message"], (reason, response.text)
    assert requests.get(f"{profiles.url}/v1/spaces/{space.id}/csv-uploads", headers=bearer(space.token)).json()["data"] == []
    assert psql(f"SELECT count(*) FROM profiles.profiles WHERE space_id = '{space.id}'") == [["0"]]
