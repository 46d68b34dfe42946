"""messaging-send's profile replica catches up with a backlog of merges: a new instance (own schema,
own consumer group) replays engage.profile-updates from the start, partitions in parallel, while
merges on one partition write profiles whose own updates sit on other partitions."""
import uuid

from engage_harness import SECRETS_KEY, ServiceProcess, Space, psql, wait_for

PEOPLE = 60


def test_a_new_instance_replays_a_backlog_of_merges_without_deadlocks(profiles, log_dir):
    space = Space(profiles.url)
    run = uuid.uuid4().hex[:6]
    space.send("batch", {"batch": [message for i in range(PEOPLE) for message in (
        {"type": "track", "anonymousId": f"visitor-{run}-{i}", "event": "Viewed"},
        {"type": "identify", "userId": f"customer-{run}-{i}", "traits": {"email": f"c{i}-{run}@shop.example"}})]})
    for i in (0, PEOPLE - 1):
        wait_for(lambda: space.profile_id(f"anonymous_id:visitor-{run}-{i}") and space.profile_id(f"user_id:customer-{run}-{i}"),
                 what="both profiles of a person")
    space.send("batch", {"batch": [message for i in range(PEOPLE) for message in (
        {"type": "alias", "previousId": f"visitor-{run}-{i}", "userId": f"customer-{run}-{i}"},
        {"type": "identify", "anonymousId": f"visitor-{run}-{i}", "traits": {"first_name": f"P{i}"}})]})
    for i in range(PEOPLE):
        wait_for(lambda: space.profile_id(f"anonymous_id:visitor-{run}-{i}") == space.profile_id(f"user_id:customer-{run}-{i}"),
                 what=f"person {i} merged")

    schema = f"messaging_replay_{run}"
    replay = ServiceProcess("messaging-send", log_dir, extra_env={
        "ENGAGE_SECRETS_KEY": SECRETS_KEY, "ENGAGE_DB_SCHEMA": schema, "ENGAGE_CONSUMER_GROUP": f"e2e-replay-{run}"}).start()
    try:
        def replicated():
            rows = psql(f"SELECT count(*) FILTER (WHERE merged_into IS NOT NULL), "
                        f"count(*) FILTER (WHERE merged_into IS NULL AND email IS NOT NULL AND traits ? 'first_name') "
                        f"FROM {schema}.profiles WHERE space_id = '{space.id}'")
            return rows[0] == [str(PEOPLE), str(PEOPLE)] or None
        wait_for(replicated, timeout=90, what="every merge and trait in the new instance's replica")
    finally:
        assert replay.terminate() == 0
    with open(replay.log_path) as log:
        text = log.read()
    assert "deadlock detected" not in text
    assert "batch failed" not in text
    psql(f"DROP SCHEMA {schema} CASCADE")
