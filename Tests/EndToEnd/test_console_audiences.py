"""Audiences and computed traits in the console: the condition builder and its JSON view, the
preview before saving, the members, versions and build of a saved audience, the API's problems in
the page, the JSON textarea without scripts, and computed traits through their form."""
import json
import re

import pytest
import requests
from playwright.sync_api import expect

from audience_helpers import now_iso
from console_helpers import new_space, sign_in
from engage_harness import bearer, wait_for

DAY = 86400

# Who viewed products when (seconds ago), and their plan: only ada and eve viewed at least twice in
# the last 7 days and are on pro.
SHOPPERS = {
    "ada": ("pro", [60, 3600, 2 * DAY]),
    "eve": ("pro", [120, 3 * DAY]),
    "bob": ("pro", [60]),
    "cy": ("free", [60, 120, 180]),
    "dee": ("pro", [10 * DAY, 11 * DAY]),
}


@pytest.fixture(scope="module")
def shop(profiles, audiences):
    """A space whose shoppers were identified and tracked through the tracking API."""
    space = new_space(profiles, audiences)
    for user, (plan, views) in SHOPPERS.items():
        space.send("identify", {"userId": user, "traits": {"plan": plan, "email": f"{user}@shop.example"}})
        for seconds_ago in views:
            space.send("track", {"userId": user, "event": "Product Viewed", "properties": {"sku": "tea-01"},
                                 "timestamp": now_iso(seconds_ago)})
    return space


def audiences_api(audiences, space, path):
    response = requests.get(f"{audiences.url}/spaces/{space.id}{path}", headers=bearer(space.token))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_an_audience_built_in_the_builder_is_previewed_saved_and_lists_its_members(console, page, audiences, shop):
    sign_in(page, console, shop)
    page.get_by_role("link", name="Audiences", exact=True).click()
    expect(page.get_by_text("No audiences yet")).to_be_visible()
    page.get_by_role("link", name="New audience").click()
    page.get_by_label("Name", exact=True).fill("Engaged pros")
    page.get_by_label("Key").fill("engaged_pros")

    # "Product Viewed" at least 2 times within 7 days, with a sku, AND plan = pro: all in the builder.
    root = page.get_by_role("group", name="Conditions", exact=True)
    root.get_by_label("Add a condition").select_option(label="Performed an event")
    root.get_by_role("button", name="Add condition").click()
    event = page.get_by_role("group", name="Event condition", exact=True)
    expect(event.get_by_label("Event name")).to_be_focused()
    event.get_by_label("Event name").fill("Product Viewed")
    event.get_by_label("How many times").select_option(label="at least")
    event.get_by_label("Times", exact=True).fill("2")
    expect(event.get_by_label("Within the last")).to_be_hidden()
    event.get_by_label("When").select_option(label="in the last")
    event.get_by_label("Within the last").fill("7")
    event.get_by_label("Unit").select_option(label="days")
    event.get_by_role("button", name="Add property filter").click()
    event.get_by_label("Property").fill("sku")
    event.get_by_label("Operator").select_option(label="exists")
    expect(event.get_by_label("Value")).to_be_hidden()
    root.get_by_label("Add a condition").select_option(label="Trait")
    root.get_by_role("button", name="Add condition").click()
    trait = page.get_by_role("group", name="Trait condition", exact=True)
    trait.get_by_label("Trait key").fill("plan")
    trait.get_by_label("Operator").select_option(label="equals")
    trait.get_by_label("Value").fill("pro")

    wanted = {"type": "and", "conditions": [
        {"type": "event", "event": "Product Viewed", "count": {"operator": "at_least", "value": 2},
         "window": {"within": {"value": 7, "unit": "days"}}, "where": [{"property": "sku", "operator": "exists"}]},
        {"type": "trait", "trait": "plan", "operator": "equals", "value": "pro"},
    ]}
    assert json.loads(page.get_by_label("Definition (JSON)").input_value()) == wanted

    # The preview counts the two engaged pros once the audiences service has their events and traits.
    preview = page.get_by_role("region", name="Preview")

    def previewed_both():
        with page.expect_navigation():
            page.get_by_role("button", name="Preview size").click()
        expect(preview).to_be_visible()
        return preview.get_by_text(re.compile(r"^2 profiles$")).count() == 1

    wait_for(previewed_both, timeout=60, interval=0.5, what="the preview to count ada and eve")
    expect(preview).to_contain_text("Every one of the space's 5 profiles was evaluated.")
    sample = preview.get_by_role("table")
    for user in ("ada", "eve"):
        expect(sample.get_by_role("link", name=user, exact=True)).to_be_visible()
    for user in ("bob", "cy", "dee"):
        expect(sample.get_by_role("link", name=user, exact=True)).to_have_count(0)
    # The builder came back from the server as it was built, and the JSON with it.
    expect(event.get_by_label("Times", exact=True)).to_have_value("2")
    expect(event.get_by_label("Within the last")).to_have_value("7")
    expect(trait.get_by_label("Value")).to_have_value("pro")
    assert json.loads(page.get_by_label("Definition (JSON)").input_value()) == wanted
    assert audiences_api(audiences, shop, "/audiences") == []

    page.get_by_role("button", name="Save audience").click()
    expect(page.get_by_role("status")).to_contain_text("Audience Engaged pros created")
    expect(page.get_by_role("heading", name="Engaged pros")).to_be_visible()

    # The page follows the build and then lists the members: the right ones, each linking to its profile.
    members = page.get_by_role("table", name="Members of Engaged pros")
    expect(members.get_by_role("row")).to_have_count(3, timeout=60000)
    for user in ("ada", "eve"):
        profile_id = shop.profile_id(f"user_id:{user}")
        expect(members.get_by_role("link", name=user, exact=True)).to_have_attribute(
            "href", f"/profiles/profile_id:{profile_id}")
    for user in ("bob", "cy", "dee"):
        expect(members.get_by_role("link", name=user, exact=True)).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^2 profiles are in this audience"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Version 1 was built over the history: 2 entered"))).to_be_visible()
    versions = page.get_by_role("region", name="Versions")
    expect(versions.get_by_role("row", name=re.compile(r"^1 live"))).to_be_visible()
    assert {m["userId"] for m in audiences_api(audiences, shop, "/audiences/engaged_pros/members")} == {"ada", "eve"}
    # What the page's script follows a build with: the progress block, and whether it still runs.
    progress = page.request.get(console.url + "/audiences/engaged_pros/progress").json()
    assert progress["running"] is False and "2 entered" in progress["html"]

    # A change is a new version: built over the history, then only ada (3 views) is left.
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("group", name="Event condition", exact=True).get_by_label("Times", exact=True).fill("3")
    page.get_by_role("button", name="Save audience").click()
    expect(page.get_by_role("status")).to_contain_text("Audience Engaged pros saved: version 2")
    expect(versions.get_by_role("row", name=re.compile(r"^2 live"))).to_be_visible(timeout=60000)
    expect(members.get_by_role("row")).to_have_count(2)
    expect(members.get_by_role("link", name="ada", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^1 profiles? (are|is) in this audience"))).to_be_visible()

    # The list shows it with its size and state.
    page.get_by_role("link", name="Audiences", exact=True).first.click()
    row = page.get_by_role("row", name=re.compile("Engaged pros"))
    expect(row).to_contain_text("engaged_pros")
    expect(row.get_by_role("cell", name="1", exact=True)).to_be_visible()
    expect(row).to_contain_text("live")


def test_an_invalid_definition_shows_the_api_problem_and_saves_nothing(console, page, profiles, audiences):
    space = new_space(profiles, audiences)
    sign_in(page, console, space)
    page.goto(console.url + "/audiences/new")
    page.get_by_label("Name", exact=True).fill("Big spenders")
    page.get_by_label("Key").fill("big_spenders")

    # Typed as JSON: the builder follows it, unknown operator and all.
    typed = json.dumps({"type": "and", "conditions": [
        {"type": "event", "event": "Order Completed", "count": {"operator": "more_than", "value": 2}}]})
    page.get_by_label("Definition (JSON)").fill(typed)
    event = page.get_by_role("group", name="Event condition", exact=True)
    expect(event.get_by_label("Event name")).to_have_value("Order Completed")
    expect(event.get_by_label("How many times")).to_have_value("more_than")

    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name="Save audience").click()
    assert answer.value.status == 422
    problem = "definition.conditions[0].count.operator: must be at_least, at_most or exactly"
    expect(page.get_by_role("alert")).to_contain_text(problem)
    # Shown on the condition it is about, with everything typed kept.
    expect(event.get_by_text(problem)).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Big spenders")
    expect(page.get_by_label("Key")).to_have_value("big_spenders")
    assert json.loads(page.get_by_label("Definition (JSON)").input_value()) == json.loads(typed)
    assert audiences_api(audiences, space, "/audiences") == []

    # Fixed in the builder, it saves.
    event.get_by_label("How many times").select_option(label="at least")
    assert json.loads(page.get_by_label("Definition (JSON)").input_value())["conditions"][0]["count"] == {
        "operator": "at_least", "value": 2}
    page.get_by_role("button", name="Save audience").click()
    expect(page.get_by_role("status")).to_contain_text("Audience Big spenders created")
    assert [a["key"] for a in audiences_api(audiences, space, "/audiences")] == ["big_spenders"]


def test_without_scripts_the_json_textarea_alone_previews_and_saves(console, browser, profiles, audiences):
    space = new_space(profiles, audiences)
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        sign_in(page, console, space)
        page.goto(console.url + "/audiences/new")
        page.get_by_label("Name", exact=True).fill("Newsletter readers")
        page.get_by_label("Key").fill("newsletter_readers")
        definition = {"type": "or", "conditions": [
            {"type": "subscription", "channel": "EMAIL", "group": "Newsletter", "status": "subscribed"},
            {"type": "not", "condition": {"type": "trait", "trait": "plan", "operator": "in", "value": ["free", "trial"]}},
        ]}
        page.get_by_label("Definition (JSON)").fill(json.dumps(definition))
        page.get_by_role("button", name="Preview size").click()
        expect(page.get_by_role("region", name="Preview")).to_contain_text("0 profiles")
        # The server drew the builder from the JSON: any of (a subscription, none of (a trait)).
        expect(page.get_by_role("group", name="Subscription condition").get_by_label("Subscription group")).to_have_value(
            "Newsletter")
        expect(page.get_by_role("group", name="Trait condition", exact=True).get_by_label("Value")).to_have_value(
            "free, trial")
        page.get_by_role("button", name="Save audience").click()
        expect(page.get_by_role("status")).to_contain_text("Audience Newsletter readers created")
        saved = audiences_api(audiences, space, "/audiences/newsletter_readers")
        assert saved["definition"] == definition
    finally:
        context.close()


def test_a_computed_trait_is_created_in_its_form_and_computed_for_profiles(console, page, audiences, shop):
    sign_in(page, console, shop)
    page.goto(console.url + "/audiences")
    page.get_by_role("link", name="Computed traits").click()
    expect(page.get_by_text("No computed traits yet")).to_be_visible()
    page.get_by_role("link", name="New computed trait").click()
    page.get_by_label("Name", exact=True).fill("Views this week")
    page.get_by_label("Key").fill("views_7d")
    # Typed as JSON, the form follows; then changed in the form, the JSON follows.
    page.get_by_label("Definition (JSON)").fill(json.dumps(
        {"type": "aggregation", "event": "Product Viewed", "property": "price", "aggregation": "max"}))
    expect(page.get_by_label("Aggregation")).to_have_value("max")
    expect(page.get_by_label("Property", exact=True)).to_have_value("price")
    page.get_by_label("Computes", exact=True).select_option(label="Event counter")
    expect(page.get_by_label("Property", exact=True)).to_be_hidden()
    expect(page.get_by_label("Event name")).to_have_value("Product Viewed")
    page.get_by_label("When").select_option(label="in the last")
    page.get_by_label("Within the last").fill("7")
    page.get_by_label("Unit").select_option(label="days")
    assert json.loads(page.get_by_label("Definition (JSON)").input_value()) == {
        "type": "event_counter", "event": "Product Viewed", "window": {"within": {"value": 7, "unit": "days"}}}
    page.get_by_role("button", name="Save computed trait").click()
    expect(page.get_by_role("status")).to_contain_text("Computed trait Views this week saved")
    expect(page.get_by_role("heading", name="Views this week")).to_contain_text("live", timeout=60000)

    ada = shop.profile_id("user_id:ada")
    wait_for(lambda: audiences_api(audiences, shop, f"/profiles/{ada}/computed-traits").get("views_7d") == 3,
             timeout=60, what="ada's views_7d to be 3")
    page.get_by_role("link", name="Computed traits").click()
    row = page.get_by_role("row", name=re.compile("Views this week"))
    expect(row).to_contain_text("Event counter of Product Viewed")
    expect(row).to_contain_text("live")
