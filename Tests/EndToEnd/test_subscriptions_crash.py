"""kill -9 of the subscriptions service in the middle of a CSV import: nothing lost, nothing twice."""
import uuid

from engage_harness import Space, bearer, psql, topic_records, wait_for, wait_for_token
from test_csv_upload import finished, upload

ROWS = 20_000


def test_kill_9_mid_import_loses_and_duplicates_nothing(profiles, subscriptions):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    run = uuid.uuid4().hex[:6]
    lines = ["email,phone,email_subscription_status,sms_subscription_status"]
    for i in range(ROWS):
        phone = f"+1415{i:07d}" if i % 2 == 0 else ""
        lines.append(f"k{i}-{run}@example.com,{phone},subscribed,{'subscribed' if phone else ''}")
    expected = ROWS + ROWS // 2
    created = upload(profiles, space, "\n".join(lines) + "\n")
    assert created.status_code == 202, created.text

    def applied():
        return int(psql(f"SELECT count(*) FROM subscriptions.states WHERE space_id = '{space.id}'")[0][0])
    wait_for(lambda: applied() > 0, timeout=120, interval=0.05, what="the first states")
    subscriptions.kill9()
    at_kill = applied()
    subscriptions.start()

    result = finished(profiles, space, created.json()["data"]["id"], timeout=300)
    assert (result["rowsAccepted"], result["rowsRejected"]) == (ROWS, 0)
    assert at_kill < expected, "the import finished before the kill; the test proved nothing"
    assert applied() == expected
    history = psql(f"SELECT count(*), count(DISTINCT (channel, contact, group_id)) FROM subscriptions.changes WHERE space_id = '{space.id}'")
    assert history == [[str(expected), str(expected)]]
    changes = topic_records("engage.subscription-changes", lambda v: v["spaceId"] == space.id, expected=expected, timeout=180)
    # At-least-once publication with stable ids: a replayed outbox row repeats an id, never a change.
    assert len({c["id"] for c in changes}) == expected
