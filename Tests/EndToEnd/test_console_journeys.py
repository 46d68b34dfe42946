"""Journeys in the console: seed 000's abandoned cart built through the step forms, published, run by
tracked events and watched on the server-drawn graph; an invalid journey refused with its problem
shown at its step."""
import random
import re

from playwright.sync_api import expect

from console_helpers import new_space, sign_in
from engage_harness import psql, wait_for
from journeys_helpers import JourneySpace


def phone():
    return "+1555" + "".join(random.choice("0123456789") for _ in range(7))


def sms_to(fakes, number):
    return [r for r in fakes.requests("twilio") if r["recipient"] == number]


def journey_id(page):
    return re.search(r"/journeys/([^/?#]+)", page.url).group(1)


def add_step(page, kind, name, step_id, after=None):
    """Opens the form of a new step of that kind, names it, and places it (the default place when None)."""
    page.get_by_label("Step type").select_option(label=kind)
    page.get_by_role("button", name="Add a step", exact=True).click()
    expect(page.get_by_role("heading", name=f"Add a step: {kind}")).to_be_visible()
    if after:
        page.get_by_label("Comes after").select_option(label=after)
    page.get_by_label("Step name").fill(name)
    page.get_by_label("Step id").fill(step_id)


def test_abandoned_cart_built_with_the_forms_sends_one_sms_and_shows_it_on_the_graph(
        console, page, profiles, subscriptions, messaging, fakes, journeys):
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys)
    promo_template = js.template("SMS", "Cart promo", {"body": "Still thinking, {{profile.traits.first_name}}? CART10 takes 10% off"})
    ada_phone, bob_phone = phone(), phone()
    ada_user, ada_pid = js.user("Ada", phone=ada_phone)
    bob_user, bob_pid = js.user("Bob", phone=bob_phone)
    js.subscribe([{"key": number, "type": "SMS", "status": "SUBSCRIBED"} for number in (ada_phone, bob_phone)])
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{js.id}'")[0][0] == "2",
             what="subscription states to reach messaging")

    sign_in(page, console, js.space)
    page.get_by_role("link", name="Journeys", exact=True).click()
    expect(page.get_by_text("No journeys yet")).to_be_visible()
    page.get_by_label("Journey name").fill("Abandoned cart")
    page.get_by_label("Entry event").fill("Product Added")
    page.get_by_role("button", name="Create journey").click()
    status = page.get_by_role("status")
    expect(status).to_have_text("Journey “Abandoned cart” created. Add its first step.")
    expect(page.get_by_text("No steps yet")).to_be_visible()
    cart = journey_id(page)

    # Seed 000 leaves the journey on a purchase.
    page.get_by_label("Leave when the profile performs (one event per line)").fill("Order Completed")
    page.get_by_role("button", name="Save entry and exit").click()
    expect(status).to_have_text("Entry and exit settings saved.")

    add_step(page, "Wait", "Give them a moment", "wait")
    page.get_by_label("Wait for", exact=True).fill("2")
    page.get_by_label("Wait unit").select_option("seconds")
    page.get_by_role("button", name="Add step", exact=True).click()
    expect(status).to_have_text("Step “Give them a moment” added.")

    add_step(page, "Wait for an event", "Check", "check", after="After “Give them a moment”")
    page.get_by_label("Event 1", exact=True).fill("Order Completed")
    page.get_by_label("Branch name 1", exact=True).fill("purchased")
    page.get_by_label("After event 1, go to").select_option(label="End of the path")
    page.get_by_label("Time out after").fill("5")
    page.get_by_label("Timeout unit").select_option("seconds")
    page.get_by_role("button", name="Add step", exact=True).click()
    expect(status).to_have_text("Step “Check” added.")

    add_step(page, "Send a message", "Cart promo SMS", "promo", after="After “Check”, on timeout")
    page.get_by_label("Template", exact=True).select_option(label="Cart promo")
    page.get_by_label("Goal event").fill("Order Completed")
    page.get_by_label("Goal window", exact=True).fill("1")
    page.get_by_label("Goal window unit").select_option("hours")
    page.get_by_role("button", name="Add step", exact=True).click()
    expect(status).to_have_text("Step “Cart promo SMS” added.")

    # The graph: entry on top, a box per step, the branches labelled.
    graph = page.locator("#journey-graph-svg")
    expect(graph.locator('[data-step="entry"]')).to_contain_text("on event Product Added")
    expect(graph.locator('[data-step="wait"]')).to_contain_text("for 2 seconds")
    expect(graph.locator('[data-step="check"]')).to_contain_text("Order Completed, up to 5 seconds")
    expect(graph.locator('[data-step="promo"]')).to_contain_text("Cart promo · goal Order Completed")
    expect(graph.locator(".edge-label", has_text="timeout")).to_have_count(1)
    expect(graph.locator(".edge-label", has_text="purchased")).to_have_count(1)

    # What the forms wrote is seed 000's definition.
    draft = js.jget(f"/journeys/{cart}").json()["data"]["draft"]
    assert draft["entry"] == {"type": "event", "event": "Product Added"}
    assert draft["exitRules"] == [{"type": "event", "event": "Order Completed"}]
    assert draft["start"] == "wait"
    wait, check, promo = draft["steps"]
    assert (wait["type"], wait["seconds"], wait["next"]) == ("wait", 2, "check")
    assert (check["type"], check["timeoutSeconds"], check["timeoutNext"]) == ("wait_for_event", 5, "promo")
    assert check["branches"] == [{"name": "purchased", "event": "Order Completed", "next": None}]
    assert (promo["type"], promo["channel"], promo["templateId"], promo["next"]) == ("send", "SMS", promo_template, None)
    assert promo["goal"] == {"event": "Order Completed", "windowSeconds": 3600}

    # Templates reach journeys through a topic: publish once the service knows this one.
    wait_for(lambda: js.jrequest("POST", f"/journeys/{cart}/validate").json()["data"]["valid"], timeout=30,
             what="the template to reach journeys")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(status).to_have_text("Version 1 published.")
    expect(page.locator(".journey-head .badge")).to_have_text("published")

    # Ada adds to her cart and leaves; Bob orders while the journey waits for it.
    js.track(ada_user, "Product Added", sku="sku-1")
    js.track(bob_user, "Product Added", sku="sku-1")
    wait_for(lambda: any(p["stepId"] == "check" and p["status"] == "waiting"
                         for i in js.instances(cart, bob_pid) for p in i["paths"]), timeout=30, what="Bob to wait for his order")
    js.track(bob_user, "Order Completed", total=30)

    # The page refreshes the graph while the journey runs: the SMS step shows Ada's message.
    promo_box = graph.locator('[data-step="promo"]')
    expect(promo_box).to_contain_text("entered 1 · now 0", timeout=30000)
    expect(promo_box).to_contain_text("completed 1")
    expect(graph.locator('[data-step="check"]')).to_contain_text("entered 2")
    expect(graph.locator('[data-step="entry"]')).to_contain_text("entered 2")

    # Where each of them is: Ada's path ended after the SMS, Bob's pass ended with his order.
    page.get_by_label("Identifier").fill(f"user_id:{ada_user}")
    page.get_by_role("button", name="Look up").click()
    lookup = page.locator("#lookup")
    expect(lookup).to_contain_text("Ended — version 1")
    expect(lookup).to_contain_text("At step “Cart promo SMS” (promo): its path ended here")
    expect(graph.locator('[data-step="promo"]')).to_contain_text("this profile ended here")
    page.get_by_label("Identifier").fill(f"user_id:{bob_user}")
    page.get_by_role("button", name="Look up").click()
    expect(lookup).to_contain_text("Ended — version 1")
    expect(lookup).not_to_contain_text("Cart promo SMS")

    # Twilio took exactly one SMS: Ada's.
    sms = wait_for(lambda: sms_to(fakes, ada_phone), timeout=30, what="Ada's promo")
    assert len(sms) == 1 and "CART10" in sms[0]["form"]["Body"][0]
    assert sms_to(fakes, bob_phone) == []

    page.get_by_role("link", name="All journeys").click()
    row = page.get_by_role("row", name=re.compile("Abandoned cart"))
    expect(row).to_contain_text("published")
    expect(row.get_by_role("cell").nth(3)).to_have_text("2")


def test_publishing_an_invalid_journey_shows_the_problem_at_its_step_and_publishes_nothing(
        console, page, profiles, journeys, messaging):
    space = new_space(profiles, journeys, messaging)
    sign_in(page, console, space)
    page.goto(console.url + "/journeys")
    page.get_by_label("Journey name").fill("Welcome test")
    page.get_by_label("Entry event").fill("Signed Up")
    page.get_by_role("button", name="Create journey").click()
    welcome = journey_id(page)

    # A random split whose shares add up to 80.
    add_step(page, "Random split", "Split", "split")
    page.get_by_label("Share of branch 2 (%)").fill("30")
    page.get_by_label("Branch 2 goes to").select_option(label="End of the path")
    page.get_by_role("button", name="Add step", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Step “Split” added.")

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("Step “Split”: branches: percentages add up to 80, not 100")
    expect(page.get_by_text("Nothing was published")).to_be_visible()
    # At the step: on its box, in the step list, and in its form, opened for the fix.
    expect(page.locator('#journey-graph-svg [data-step="split"]')).to_contain_text("percentages add up to 80")
    expect(page.get_by_role("list", name="Problems at step Split")).to_contain_text("percentages add up to 80, not 100")
    form = page.locator("#step-form")
    expect(form.get_by_role("heading")).to_have_text("Edit step “Split”")
    expect(form.get_by_role("alert")).to_contain_text("percentages add up to 80, not 100")
    expect(page.locator(".journey-head .badge")).to_have_text("draft")
    record = requests_json(journeys, space, f"/journeys/{welcome}")
    assert record["status"] == "draft" and record.get("currentVersion") is None
    assert requests_json(journeys, space, f"/journeys/{welcome}/versions") == []

    # The page works on a phone: nothing wider than the screen but the graph, which scrolls.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Fixed through the form, it publishes.
    form.get_by_label("Share of branch 2 (%)").fill("50")
    form.get_by_role("button", name="Save step").click()
    expect(page.get_by_role("status")).to_have_text("Step “Split” saved.")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Version 1 published.")
    assert requests_json(journeys, space, f"/journeys/{welcome}")["currentVersion"] == 1


def requests_json(service, space, path):
    import requests
    response = requests.get(f"{service.url}/spaces/{space.id}{path}", headers={"Authorization": f"Bearer {space.token}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def type_into_json_editor(page, text):
    """The definition's editor is CodeMirror: select everything in it and type over it."""
    page.locator(".json-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def test_json_definition_new_version_with_step_mapping_and_the_lifecycle(console, page, profiles, journeys, messaging):
    space = new_space(profiles, journeys, messaging)
    sign_in(page, console, space)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(console.url + "/journeys")
    page.get_by_label("Journey name").fill("Onboarding")
    page.get_by_label("Entry event").fill("Signed Up")
    page.get_by_role("button", name="Create journey").click()
    onboarding = journey_id(page)
    status = page.get_by_role("status")

    # JSON that does not parse is refused and kept as typed; a definition that parses replaces the draft.
    type_into_json_editor(page, '{"entry": ')
    page.get_by_role("button", name="Save definition").click()
    expect(page.get_by_role("alert").first).to_contain_text("not valid JSON")
    expect(page.locator(".json-editor .CodeMirror")).to_contain_text('{"entry":')
    type_into_json_editor(page, '{"entry": {"type": "event", "event": "Signed Up"}, "start": "hold", "steps": ['
                                '{"id": "hold", "name": "Hold", "type": "wait", "seconds": 3600, "next": "bye"}, '
                                '{"id": "bye", "name": "Bye", "type": "exit"}]}')
    page.get_by_role("button", name="Save definition").click()
    expect(status).to_have_text("Definition saved: it replaced the draft.")
    graph = page.locator("#journey-graph-svg")
    expect(graph.locator('[data-step="hold"]')).to_contain_text("for 1 hour")
    expect(graph.locator('[data-step="bye"]')).to_contain_text("ends the pass")

    page.get_by_role("button", name="Validate").click()
    expect(status).to_have_text("No problems: the draft is ready to publish.")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(status).to_have_text("Version 1 published.")
    space.send("track", {"userId": "ann", "event": "Signed Up"})
    expect(graph.locator('[data-step="hold"]')).to_contain_text("entered 1 · now 1", timeout=30000)

    # Version 2 through the step's form (opened from its box); Ann, waiting at Hold, moves onto it.
    page.get_by_role("link", name=re.compile(r"^Step Hold")).click()
    expect(page.get_by_role("heading", name="Edit step “Hold”")).to_be_visible()
    page.get_by_label("Wait for", exact=True).fill("2")
    page.get_by_role("button", name="Save step").click()
    expect(status).to_have_text("Step “Hold” saved.")
    expect(page.get_by_text("The draft has changes that are not published")).to_be_visible()
    page.get_by_role("link", name="Publish version 2").click()
    row = page.get_by_role("row", name=re.compile("Hold"))
    expect(row.get_by_role("cell").nth(1)).to_have_text("1")
    page.get_by_label("Move profiles at Hold to").select_option(label="Hold (hold)")
    page.get_by_role("button", name="Publish version 2").click()
    expect(status).to_have_text("Version 2 published.")
    expect(page.get_by_role("row", name=re.compile("^2 running"))).to_contain_text("hold → hold")
    versions = requests_json(journeys, space, f"/journeys/{onboarding}/versions")
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["stepMapping"] == {"hold": "hold"}
    assert versions[1]["definition"]["steps"][0]["seconds"] == 7200
    expect(graph.locator('[data-step="hold"]')).to_contain_text("now 1", timeout=15000)

    # Version 1 stays readable, with its own counts.
    page.get_by_role("link", name="Show version 1").click()
    expect(page.get_by_role("heading", name="Version 1 as published")).to_be_visible()
    expect(graph.locator('[data-step="hold"]')).to_contain_text("for 1 hour")
    page.get_by_role("link", name="Back to the draft").click()

    # Removing a step: what led to it now ends the path.
    page.get_by_role("button", name="Remove step Bye").click()
    expect(status).to_have_text("Step “Bye” removed.")
    draft = requests_json(journeys, space, f"/journeys/{onboarding}")["draft"]
    assert [s["id"] for s in draft["steps"]] == ["hold"] and draft["steps"][0]["next"] is None

    page.get_by_role("button", name="Pause").click()
    expect(status).to_have_text("Journey paused.")
    expect(page.locator(".journey-head .badge")).to_have_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(status).to_have_text("Journey resumed.")
    page.get_by_role("button", name="Archive").click()
    expect(status).to_have_text("Journey archived: every pass still running has ended.")
    expect(page.locator(".journey-head .badge")).to_have_text("archived")
    expect(page.get_by_role("button", name="Add a step")).to_have_count(0)
    expect(graph.locator('[data-step="hold"]')).to_contain_text("now 0")
