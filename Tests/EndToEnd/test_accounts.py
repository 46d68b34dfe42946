"""Segment's accounts collection through the real service: group traits per account, user-account
links from group calls, and the Profile API's /links and /metadata."""
import uuid

import requests

from engage_harness import Space, wait_for, wait_for_token
from test_csv_upload import finished, upload


def account(space, identifier, endpoint, **params):
    quoted = requests.utils.quote(identifier, safe=":")
    return requests.get(f"{space.url}/v1/spaces/{space.id}/collections/accounts/profiles/{quoted}/{endpoint}",
                        params=params, auth=(space.token, ""))


def account_events(space, group_id):
    response = account(space, f"group_id:{group_id}", "events", limit=200)
    return response.json()["data"] if response.status_code == 200 else []


def linked_ids(links, type_):
    """The ids of one type named by a /links answer, sorted."""
    return sorted(e["id"] for link in links for e in link["external_ids"] if e["type"] == type_)


def test_group_calls_build_accounts_with_traits_users_and_events(profiles):
    space = Space(profiles.url)
    run = uuid.uuid4().hex[:6]
    acme, globex, ada, bob = f"acme-{run}", f"globex-{run}", f"ada-{run}", f"bob-{run}"
    space.send("identify", {"userId": ada, "traits": {"name": "Ada"}})
    space.send("group", {"userId": ada, "groupId": acme, "traits": {"name": "Acme", "plan": "free"},
                         "timestamp": "2026-03-01T00:00:00Z", "messageId": f"first-{run}"})
    # Ada and Bob are keyed to different partitions: the account's first message is Ada's only once
    # it is stored before Bob's calls are sent.
    wait_for(lambda: len(account_events(space, acme)) == 1, what="acme's first group call")
    space.send("group", {"userId": bob, "groupId": acme, "traits": {"plan": "pro", "employees": 50},
                         "timestamp": "2026-03-02T00:00:00Z"})
    # Sent last but older: it does not overwrite the newer plan.
    space.send("group", {"userId": bob, "groupId": acme, "traits": {"plan": "trial"},
                         "timestamp": "2026-02-01T00:00:00Z"})
    space.send("group", {"userId": ada, "groupId": globex, "traits": {"name": "Globex"}})
    events = wait_for(lambda: (lambda e: e if len(e) == 3 else None)(account_events(space, acme)),
                      what="acme's three group calls")
    wait_for(lambda: len(account_events(space, globex)) == 1, what="globex's group call")

    # Traits: merged per account, newest timestamp wins; they are the account's, not the users'.
    traits = account(space, f"group_id:{acme}", "traits")
    assert traits.status_code == 200, traits.text
    assert traits.json()["traits"] == {"name": "Acme", "plan": "pro", "employees": 50}
    assert traits.json()["cursor"] == {"url": "", "has_more": False, "next": ""}
    verbose = account(space, f"group_id:{acme}", "traits", verbose="true", include="plan").json()["traits"]
    assert verbose["plan"]["value"] == "pro" and verbose["plan"]["updated_at"].startswith("2026-03-02")
    assert verbose["plan"]["source_id"] == space.source_id
    assert space.profile(f"user_id:{ada}", "traits").json()["traits"] == {"name": "Ada"}

    # Events: the account's group calls, newest first, each related to the user who sent it.
    assert [e["type"] for e in events] == ["group", "group", "group"]
    assert [e["timestamp"][:10] for e in events] == ["2026-03-02", "2026-03-01", "2026-02-01"]
    assert events[1]["message_id"] == f"first-{run}"
    assert events[1]["related"]["users"] == space.profile_id(f"user_id:{ada}")
    assert events[0]["related"]["users"] == space.profile_id(f"user_id:{bob}")

    # A user's /links: the accounts it belongs to, in Segment's shape.
    ada_links = space.profile(f"user_id:{ada}", "links")
    assert ada_links.status_code == 200, ada_links.text
    assert linked_ids(ada_links.json()["data"], "group_id") == sorted([acme, globex])
    link = next(item for item in ada_links.json()["data"] if item["external_ids"][0]["id"] == acme)
    assert link["to_collection"] == "accounts"
    assert {k: link["external_ids"][0][k] for k in ("type", "collection", "encoding", "source_id")} == {
        "type": "group_id", "collection": "accounts", "encoding": "none", "source_id": space.source_id}
    assert link["external_ids"][0]["created_at"]
    assert linked_ids(space.profile(f"user_id:{bob}", "links").json()["data"], "group_id") == [acme]

    # An account's /links: its users, one page at a time.
    first = account(space, f"group_id:{acme}", "links", limit=1).json()
    assert len(first["data"]) == 1 and first["data"][0]["to_collection"] == "users"
    assert first["cursor"]["has_more"] and first["cursor"]["next"]
    second = account(space, f"group_id:{acme}", "links", limit=1, next=first["cursor"]["next"]).json()
    assert not second["cursor"]["has_more"]
    assert linked_ids(first["data"] + second["data"], "user_id") == sorted([ada, bob])
    assert all(e["collection"] == "users" for link in first["data"] + second["data"] for e in link["external_ids"])

    # Metadata names the account; its id is a lookup key of the accounts collection.
    metadata = account(space, f"group_id:{acme}", "metadata").json()["metadata"]
    assert metadata["first_message_id"] == f"first-{run}" and metadata["first_source_id"] == space.source_id
    assert metadata["created_at"] and metadata["updated_at"] and metadata["expires_at"] is None
    by_id = account(space, f"profile_id:{metadata['profile_id']}", "traits")
    assert by_id.status_code == 200 and by_id.json()["traits"]["name"] == "Acme"
    external = account(space, f"group_id:{acme}", "external_ids").json()["data"]
    assert [(e["type"], e["id"], e["collection"]) for e in external] == [("group_id", acme, "accounts")]

    # Accounts belong to their space; unknown accounts and identifiers of users are not accounts.
    not_found = {"code": "not_found", "message": "Profile was not found."}
    other = Space(profiles.url)
    for response in (account(other, f"group_id:{acme}", "traits"), account(space, "group_id:nobody", "traits"),
                     account(space, f"user_id:{ada}", "traits")):
        assert response.status_code == 404 and response.json()["error"] == not_found
    assert account(space, f"group_id:{acme}", "traits", limit=0).json()["error"]["code"] == "validation_error"
    unknown = requests.get(f"{space.url}/v1/spaces/{space.id}/collections/teams/profiles/group_id:{acme}/traits",
                           auth=(space.token, ""))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert account(other, f"group_id:{acme}", "links").status_code == 404
    no_token = requests.get(f"{space.url}/v1/spaces/{space.id}/collections/accounts/profiles/group_id:{acme}/traits")
    assert no_token.status_code == 401


def test_group_traits_never_identify_the_user(profiles):
    space = Space(profiles.url)
    run = uuid.uuid4().hex[:6]
    billing = f"billing-{run}@acme.example"
    # The account's email is a group trait; two visitors of the same company must not become one person.
    space.send("group", {"anonymousId": f"visitor-a-{run}", "groupId": f"acme-{run}", "traits": {"email": billing}})
    space.send("group", {"anonymousId": f"visitor-b-{run}", "groupId": f"acme-{run}", "traits": {"email": billing}})
    wait_for(lambda: len(account_events(space, f"acme-{run}")) == 2, what="both group calls")
    assert space.profile_id(f"anonymous_id:visitor-a-{run}") != space.profile_id(f"anonymous_id:visitor-b-{run}")
    assert space.profile(f"email:{billing}", "traits").status_code == 404
    assert account(space, f"group_id:acme-{run}", "traits").json()["traits"] == {"email": billing}


def test_merges_show_in_metadata_and_move_account_links(profiles):
    space = Space(profiles.url)
    run = uuid.uuid4().hex[:6]
    visitor_id, customer_id = f"visitor-{run}", f"customer-{run}"
    space.send("group", {"anonymousId": visitor_id, "groupId": f"acme-{run}", "traits": {"name": "Acme"}})
    space.send("identify", {"userId": customer_id, "traits": {"tier": "gold"}})
    visitor = wait_for(lambda: space.profile_id(f"anonymous_id:{visitor_id}"), what="visitor profile")
    customer = wait_for(lambda: space.profile_id(f"user_id:{customer_id}"), what="customer profile")
    metadata = space.profile(f"user_id:{customer_id}", "metadata").json()["metadata"]
    assert metadata["profile_id"] == customer and metadata["merged_profiles"] == []

    space.send("alias", {"previousId": visitor_id, "userId": customer_id, "messageId": f"alias-{run}"})
    wait_for(lambda: space.profile_id(f"anonymous_id:{visitor_id}") == space.profile_id(f"user_id:{customer_id}"),
             what="alias merge")
    survivor = space.profile_id(f"user_id:{customer_id}")
    merged_away = ({visitor, customer} - {survivor}).pop()
    # Asked by the merged-away id, metadata names the profile it now is, and what was merged into it.
    metadata = space.profile(f"profile_id:{merged_away}", "metadata").json()["metadata"]
    assert metadata["profile_id"] == survivor
    assert [(m["profile_id"], m["message_id"]) for m in metadata["merged_profiles"]] == [(merged_away, f"alias-{run}")]
    assert metadata["merged_profiles"][0]["merged_at"]

    # /links lists the survivor's accounts (the visitor's, moved by the merge), never merged profiles.
    links = space.profile(f"user_id:{customer_id}", "links").json()["data"]
    assert [link["to_collection"] for link in links] == ["accounts"]
    assert linked_ids(links, "group_id") == [f"acme-{run}"]
    users = account(space, f"group_id:acme-{run}", "links").json()["data"]
    assert len(users) == 1
    assert linked_ids(users, "user_id") == [customer_id] and linked_ids(users, "anonymous_id") == [visitor_id]


def test_metadata_gives_the_id_of_a_profile_without_events(profiles, subscriptions):
    space = Space(profiles.url)
    wait_for_token(subscriptions.url, space)
    email = f"csv-{uuid.uuid4().hex[:6]}@example.com"
    created = upload(profiles, space, f"email,plan\r\n{email},pro\r\n")
    assert created.status_code == 202, created.text
    assert finished(profiles, space, created.json()["data"]["id"])["rowsAccepted"] == 1
    # A CSV row is not an event: the id cannot come from /events.
    assert space.profile(f"email:{email}", "events").json()["data"] == []
    metadata = space.profile(f"email:{email}", "metadata")
    assert metadata.status_code == 200, metadata.text
    profile_id = metadata.json()["metadata"]["profile_id"]
    assert profile_id.startswith("use_") and metadata.json()["metadata"]["merged_profiles"] == []
    assert space.profile(f"profile_id:{profile_id}", "traits").json()["traits"] == {"email": email, "plan": "pro"}
