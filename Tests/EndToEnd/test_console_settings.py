"""Identity and sources in the console: identifiers, write keys and access tokens, through the forms."""
import requests
from playwright.sync_api import expect

from console_helpers import new_space, sign_in


def test_identifiers_sources_and_tokens_are_managed_from_the_console(console, page, profiles):
    space = new_space(profiles)
    sign_in(page, console, space)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Identity and sources").click()

    # A custom identifier read from a trait, as in Engage's onboarding.
    page.get_by_label("Type", exact=True).fill("crm_id")
    page.get_by_label("Priority").fill("3")
    page.get_by_label("Limit").fill("1")
    page.get_by_label("Trait or property key").fill("crmId")
    page.get_by_role("button", name="Save identifier").click()
    expect(page.get_by_role("status")).to_have_text("Identifier crm_id saved.")
    expect(page.get_by_role("row", name="crm_id")).to_contain_text("trait crmId")
    rules = requests.get(f"{profiles.url}/admin/spaces/{space.id}/identity-rules", headers=space.admin).json()["data"]
    assert {"type": "crm_id", "priority": 3, "limit": 1, "traitKey": "crmId"} in rules

    # A validation error from the API is shown in the page, and the typed form is not lost to a crash.
    page.get_by_label("Type", exact=True).fill("user_id")
    page.get_by_label("Trait or property key").fill("uid")
    page.get_by_role("button", name="Save identifier").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot be read from a trait")

    # A new source: its write key is shown once and works on the tracking API; rotating replaces it.
    page.get_by_label("New source name").fill("Website")
    page.get_by_role("button", name="Create source").click()
    first_key = page.get_by_label("Write key").input_value()
    assert requests.post(f"{profiles.url}/v1/track", auth=(first_key, ""),
                         json={"userId": "u1", "event": "Signed Up"}).status_code == 200
    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Rotate the write key of Website").click()
    second_key = page.get_by_label("Write key").input_value()
    assert second_key and second_key != first_key
    assert requests.post(f"{profiles.url}/v1/track", auth=(first_key, ""),
                         json={"userId": "u1", "event": "Signed Up"}).status_code == 401
    assert requests.post(f"{profiles.url}/v1/track", auth=(second_key, ""),
                         json={"userId": "u1", "event": "Signed Up"}).status_code == 200

    # A token for a warehouse, then revoked; the session's own token cannot be revoked from here.
    page.get_by_role("link", name="Done").click()
    page.get_by_label("New token name").fill("Warehouse")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Access token").input_value()
    assert requests.get(f"{profiles.url}/v1/access-token", auth=(token, "")).status_code == 200
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("row", name="e2e this session").get_by_role("button")).to_have_count(0)
    page.get_by_role("button", name="Revoke Warehouse").click()
    expect(page.get_by_role("status")).to_have_text("Access token revoked.")
    assert requests.get(f"{profiles.url}/v1/access-token", auth=(token, "")).status_code == 401
