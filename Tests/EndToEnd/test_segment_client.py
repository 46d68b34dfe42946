"""Segment's official Python client, unchanged, pointed at the local tracking API."""
from datetime import datetime, timezone

from segment.analytics.client import Client

from engage_harness import Space, wait_for


def test_two_devices_of_one_person_end_in_one_profile(profiles):
    space = Space(profiles.url)
    errors = []
    client = Client(space.write_key, host=profiles.url, sync_mode=True, gzip=True,
                    on_error=lambda error, batch: errors.append(error), max_retries=1)
    # Laptop: anonymous browsing, then sign-in.
    client.page(anonymous_id="laptop-anon", name="Home", properties={"path": "/"})
    client.page(anonymous_id="laptop-anon", name="Pricing", properties={"path": "/pricing"})
    client.identify(user_id="user-42", anonymous_id="laptop-anon", traits={"email": "grace@example.com", "first_name": "Grace"})
    # Phone: anonymous, then identified by the same email only.
    client.track(anonymous_id="phone-anon", event="App Opened", properties={"version": "1.2"})
    client.identify(anonymous_id="phone-anon", traits={"email": "grace@example.com", "plan": "pro"})
    client.flush()
    assert errors == []

    # All five events land on one profile, whichever identifier it is looked up by.
    events = wait_for(lambda: len(space.all_events("user_id:user-42")) == 5 and space.all_events("user_id:user-42"),
                      what="five events on the profile")
    assert {event["type"] for event in events} == {"page", "identify", "track"}
    profile_ids = {event["related"]["users"] for event in events}
    assert len(profile_ids) == 1

    for identifier in ["user_id:user-42", "email:grace@example.com", "anonymous_id:laptop-anon", "anonymous_id:phone-anon"]:
        traits = space.profile(identifier, "traits")
        assert traits.status_code == 200, (identifier, traits.text)
        assert traits.json()["traits"] == {"email": "grace@example.com", "first_name": "Grace", "plan": "pro"}
        assert {e["related"]["users"] for e in space.all_events(identifier)} == profile_ids

    external = space.profile("email:grace@example.com", "external_ids").json()["data"]
    assert {(e["type"], e["id"]) for e in external} == {
        ("user_id", "user-42"), ("email", "grace@example.com"), ("anonymous_id", "laptop-anon"), ("anonymous_id", "phone-anon")}
    metadata = space.profile("anonymous_id:phone-anon", "metadata")
    assert metadata.status_code == 200
    assert metadata.json()["metadata"]["first_source_id"] == space.source_id
    assert "Request-Id" in metadata.headers


def test_profile_api_pages_events_newest_first_and_filters(profiles):
    space = Space(profiles.url)
    client = Client(space.write_key, host=profiles.url, sync_mode=True)
    for index in range(7):
        client.track(user_id="pager", event="Viewed" if index % 2 else "Clicked", properties={"n": index},
                     timestamp=datetime(2026, 1, 1, 0, 0, index, tzinfo=timezone.utc))
    client.flush()
    wait_for(lambda: len(space.all_events("user_id:pager")) == 7, what="seven events")
    first = space.profile("user_id:pager", "events", limit=3).json()
    assert [e["properties"]["n"] for e in first["data"]] == [6, 5, 4]
    assert first["cursor"]["has_more"] is True
    second = space.profile("user_id:pager", "events", limit=3, next=first["cursor"]["next"]).json()
    assert [e["properties"]["n"] for e in second["data"]] == [3, 2, 1]
    ascending = space.profile("user_id:pager", "events", sort="asc", limit=2).json()
    assert [e["properties"]["n"] for e in ascending["data"]] == [0, 1]
    viewed = space.profile("user_id:pager", "events", include="Viewed", limit=200).json()
    assert {e["event"] for e in viewed["data"]} == {"Viewed"} and len(viewed["data"]) == 3
    assert space.profile("user_id:pager", "events", limit=201).status_code == 400


def test_event_pages_are_exact_when_timestamps_differ_below_a_millisecond(profiles):
    import requests
    from engage_harness import wait_for as wait
    space = Space(profiles.url)
    batch = [{"type": "track", "userId": "micro", "event": f"E{n}", "timestamp": f"2026-03-01T10:00:00.000{n}00Z"} for n in range(1, 5)]
    assert requests.post(f"{space.url}/v1/batch", json={"batch": batch}, headers=space.write_auth()).status_code == 200
    wait(lambda: len(space.all_events("user_id:micro")) == 4, what="four events")
    seen, cursor = [], None
    for _ in range(4):
        params = {"limit": 1, "sort": "asc"}
        if cursor:
            params["next"] = cursor
        page = space.profile("user_id:micro", "events", **params).json()
        seen += [e["event"] for e in page["data"]]
        cursor = page["cursor"]["next"]
    assert seen == ["E1", "E2", "E3", "E4"]
    assert cursor == ""
