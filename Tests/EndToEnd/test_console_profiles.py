"""The console's profiles explorer in a real browser against the real services: a person looked up by
an identifier that was merged into another profile lands on the survivor, with everything known of it."""
import re
import uuid

import requests
from playwright.sync_api import expect

from audience_helpers import now_iso
from console_helpers import new_space, sign_in
from engage_harness import bearer, wait_for


def look_up(page, console, type_label, value):
    page.goto(console.url + "/profiles")
    page.get_by_label("Identifier type").select_option(label=type_label)
    page.get_by_label("Identifier value").fill(value)
    page.get_by_role("button", name="Look up").click()


def test_a_merged_profile_is_found_by_its_old_anonymous_id(console, page, profiles, subscriptions, audiences, messaging):
    space = new_space(profiles, subscriptions, audiences, messaging)
    run = uuid.uuid4().hex[:6]
    browser_a, browser_b, user, email = f"anon-a-{run}", f"anon-b-{run}", f"user-{run}", f"ada-{run}@example.com"
    audiences_api = f"{audiences.url}/spaces/{space.id}"
    computed = requests.post(f"{audiences_api}/computed-traits", headers=bearer(space.token),
                             json={"key": "products_viewed", "name": "Products viewed",
                                   "definition": {"type": "event_counter", "event": "Product Viewed"}})
    assert computed.status_code == 201, computed.text
    audience = requests.post(f"{audiences_api}/audiences", headers=bearer(space.token),
                             json={"key": "viewers", "name": "Product viewers",
                                   "definition": {"type": "event", "event": "Product Viewed"}})
    assert audience.status_code == 201, audience.text

    # Browsing anonymously on one device (enough events for two pages of the timeline), then signing up.
    space.send("track", {"anonymousId": browser_a, "event": "Product Viewed", "properties": {"sku": "first-sku"},
                         "timestamp": now_iso(120)})
    space.send("batch", {"batch": [{"type": "track", "anonymousId": browser_a, "event": "Page Scrolled",
                                    "properties": {"depth": i}, "timestamp": now_iso(100 - i)} for i in range(26)]})
    space.send("identify", {"anonymousId": browser_a, "userId": user, "timestamp": now_iso(60),
                            "traits": {"name": "Ada Lovelace", "email": email, "plan": "pro"}})
    # A second device's profile, then an alias that merges the two.
    space.send("track", {"anonymousId": browser_b, "event": "Pricing Viewed", "timestamp": now_iso(30)})
    first = wait_for(lambda: space.profile_id(f"anonymous_id:{browser_a}"), what="the first profile")
    second = wait_for(lambda: space.profile_id(f"anonymous_id:{browser_b}"), what="the second profile")
    assert first != second
    space.send("alias", {"previousId": browser_b, "userId": user, "timestamp": now_iso(20)})
    wait_for(lambda: space.profile_id(f"anonymous_id:{browser_b}") == space.profile_id(f"user_id:{user}"), what="the merge")
    metadata = space.profile(f"user_id:{user}", "metadata").json()["metadata"]
    survivor = metadata["profile_id"]
    merged_away = ({first, second} - {survivor}).pop()
    assert [merged["profile_id"] for merged in metadata["merged_profiles"]] == [merged_away]
    # Consent on the person's email, and the computed trait written back.
    put = requests.put(f"{subscriptions.url}/spaces/{space.id}/messaging-subscriptions", headers=bearer(space.token),
                       json={"subscriptions": [{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"}]})
    assert put.status_code == 200, put.text
    wait_for(lambda: space.profile(f"user_id:{user}", "traits").json()["traits"].get("products_viewed") == 1,
             timeout=60, what="the computed trait on the profile")

    sign_in(page, console, space)
    page.get_by_role("link", name="Profiles", exact=True).click()
    look_up(page, console, "Anonymous id (anonymous_id)", browser_a)
    # The canonical address is the survivor's, and the page says how it was reached and what was merged.
    expect(page).to_have_url(re.compile(rf"/profiles/profile_id:{survivor}\?via=anonymous_id(:|%3A){browser_a}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.locator("#profile-id")).to_have_text(survivor)
    expect(page.get_by_role("status")).to_contain_text(f"anonymous_id:{browser_a}")
    expect(page.locator("[data-merged]")).to_contain_text(f"merged from {merged_away}")

    expect(page.locator("tr[data-trait=email]")).to_contain_text(email)
    expect(page.locator("tr[data-trait=plan]")).to_contain_text("pro")
    expect(page.locator("tr[data-trait=products_viewed]")).to_contain_text("computed")
    expect(page.locator("tr[data-trait=plan]")).not_to_contain_text("computed")
    identities = page.locator("tr[data-identity]")
    for value in [user, email, browser_a, browser_b]:
        expect(identities.filter(has_text=value)).to_have_count(1)
    expect(page.get_by_role("link", name="Product viewers")).to_be_visible(timeout=30000)
    consent = page.locator("section", has=page.get_by_role("heading", name="Subscriptions"))
    expect(consent).to_contain_text(email)
    expect(consent.get_by_role("row", name=re.compile("Email"))).to_contain_text("Subscribed")
    expect(page.get_by_text("No messages sent to this person yet")).to_be_visible()

    # The event timeline, newest first, in pages through the Profile API's cursor.
    events = page.locator("tr[data-event-type]")
    expect(events).to_have_count(25)
    # The newest track event is the merged-away profile's: its events are the survivor's now.
    expect(page.locator("tr[data-event-type=track]").first).to_contain_text("Pricing Viewed")
    expect(page.get_by_text("first-sku")).to_have_count(0)
    page.get_by_role("link", name="Older events").click()
    expect(events.last).to_contain_text("Product Viewed")
    expect(events.last).to_contain_text("first-sku")
    expect(page.get_by_role("link", name="Older events")).to_have_count(0)
    page.get_by_role("link", name="Newest events").click()
    expect(events).to_have_count(25)

    # The merged-away profile id and the other device's anonymous id land on the survivor as well.
    look_up(page, console, "Profile id (profile_id)", merged_away)
    expect(page).to_have_url(re.compile(rf"/profiles/profile_id:{survivor}\?via=profile_id(:|%3A){merged_away}$"))
    expect(page.locator("[data-merged]")).to_contain_text(merged_away)
    page.goto(f"{console.url}/profiles/anonymous_id:{browser_b}")
    expect(page).to_have_url(re.compile(rf"/profiles/profile_id:{survivor}\?via=anonymous_id(:|%3A){browser_b}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")

    # At 390 px the page still fits (tables scroll inside their frame).
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#profile-id")).to_have_text(survivor)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_unknown_identifier_says_what_to_do(console, page, profiles, subscriptions, audiences, messaging):
    space = new_space(profiles, subscriptions, audiences, messaging)
    sign_in(page, console, space)
    page.goto(console.url + "/profiles")
    expect(page.get_by_text("Enter an identifier above")).to_be_visible()
    look_up(page, console, "Email (email)", "nobody@example.com")
    expect(page.get_by_role("heading", name=re.compile("No profile has email"))).to_be_visible()
    expect(page.get_by_text("send an identify call")).to_be_visible()
    # The typed values are kept, to correct them.
    expect(page.get_by_label("Identifier value")).to_have_value("nobody@example.com")
    expect(page.get_by_label("Identifier type")).to_have_value("email")
    # Custom identifier types of the space are offered.
    rule = requests.put(f"{profiles.url}/v1/spaces/{space.id}/identity-rules/crm_id", headers=bearer(space.token),
                        json={"priority": 5, "limit": 1, "traitKey": "crmId"})
    assert rule.status_code == 200, rule.text
    page.reload()
    page.get_by_label("Identifier type").select_option("crm_id")
