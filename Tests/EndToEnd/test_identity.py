"""Identity resolution through the real service: limits, alias, trait ordering, custom identifiers."""
import requests

from engage_harness import Space, wait_for


def test_a_second_user_id_does_not_merge_two_people(profiles):
    space = Space(profiles.url)
    space.send("identify", {"userId": "alice", "anonymousId": "shared-laptop", "traits": {"name": "Alice"}})
    alice = wait_for(lambda: space.profile_id("user_id:alice"), what="alice's profile")
    # Bob signs in on the same laptop: user_id's limit is 1, so he must not become Alice.
    space.send("identify", {"userId": "bob", "anonymousId": "shared-laptop", "traits": {"name": "Bob"}})
    bob = wait_for(lambda: space.profile_id("user_id:bob"), what="bob's profile")
    assert bob != alice
    assert space.profile_id("anonymous_id:shared-laptop") == alice
    assert space.profile("user_id:alice", "traits").json()["traits"] == {"name": "Alice"}
    assert space.profile("user_id:bob", "traits").json()["traits"] == {"name": "Bob"}


def test_alias_merges_and_lookups_follow_the_merge(profiles):
    space = Space(profiles.url)
    space.send("track", {"anonymousId": "visitor-9", "event": "Viewed"})
    space.send("identify", {"userId": "customer-9", "traits": {"tier": "gold"}})
    visitor = wait_for(lambda: space.profile_id("anonymous_id:visitor-9"), what="visitor profile")
    customer = wait_for(lambda: space.profile_id("user_id:customer-9"), what="customer profile")
    assert visitor != customer
    space.send("alias", {"previousId": "visitor-9", "userId": "customer-9"})
    wait_for(lambda: space.profile_id("anonymous_id:visitor-9") == space.profile_id("user_id:customer-9"), what="alias merge")
    survivor = space.profile_id("user_id:customer-9")
    merged_away = ({visitor, customer} - {survivor}).pop()
    # The merged-away profile id still answers, with the survivor's data.
    traits = space.profile(f"profile_id:{merged_away}", "traits")
    assert traits.status_code == 200 and traits.json()["traits"] == {"tier": "gold"}
    assert len(space.all_events("anonymous_id:visitor-9")) == 3
    metadata = space.profile("user_id:customer-9", "metadata").json()["metadata"]
    assert metadata["profile_id"] == survivor
    assert [merged["profile_id"] for merged in metadata["merged_profiles"]] == [merged_away]
    # /links is for accounts (Segment's meaning): this person belongs to none.
    assert space.profile("user_id:customer-9", "links").json()["data"] == []


def test_a_late_older_identify_does_not_overwrite_a_newer_trait(profiles):
    space = Space(profiles.url)
    space.send("identify", {"userId": "late", "traits": {"plan": "enterprise"}, "timestamp": "2026-06-01T00:00:00Z"})
    wait_for(lambda: space.profile("user_id:late", "traits").status_code == 200, what="profile")
    space.send("identify", {"userId": "late", "traits": {"plan": "free", "city": "Oslo"}, "timestamp": "2026-01-01T00:00:00Z"})
    wait_for(lambda: len(space.all_events("user_id:late")) == 2, what="both events")
    assert space.profile("user_id:late", "traits").json()["traits"] == {"plan": "enterprise", "city": "Oslo"}
    verbose = space.profile("user_id:late", "traits", verbose="true").json()["traits"]
    assert verbose["plan"]["updated_at"].startswith("2026-06-01")


def test_custom_identifier_configured_through_the_api_joins_profiles(profiles):
    space = Space(profiles.url)
    rule = requests.put(f"{space.url}/admin/spaces/{space.id}/identity-rules/crm_id", headers=space.admin,
                        json={"priority": 5, "limit": 1, "traitKey": "crmId"})
    assert rule.status_code == 200, rule.text
    rules = requests.get(f"{space.url}/admin/spaces/{space.id}/identity-rules", headers=space.admin).json()["data"]
    assert {"type": "crm_id", "priority": 5, "limit": 1, "traitKey": "crmId"} in rules
    bad = requests.put(f"{space.url}/admin/spaces/{space.id}/identity-rules/crm_id", headers=space.admin, json={"priority": 0, "limit": 1})
    assert bad.status_code == 400 and "priority" in bad.json()["message"]
    space.send("identify", {"anonymousId": "web-1", "traits": {"crmId": "C-1"}})
    wait_for(lambda: space.profile("crm_id:C-1", "traits").status_code == 200, timeout=30, what="crm_id identifier")
    space.send("identify", {"anonymousId": "store-1", "traits": {"crmId": "C-1", "store": "Bergen"}})
    wait_for(lambda: space.profile_id("anonymous_id:store-1") == space.profile_id("anonymous_id:web-1"), what="join by crm_id")


def test_admin_api_requires_the_admin_token(profiles):
    assert requests.get(profiles.url + "/admin/spaces").status_code == 401
    assert requests.get(profiles.url + "/admin/spaces", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert requests.post(profiles.url + "/admin/spaces/spa_missing/sources", json={"name": "x"},
                         headers={"Authorization": "Bearer e2e-admin-token"}).status_code == 404
