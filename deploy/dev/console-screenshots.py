#!/usr/bin/env python3
"""Screenshots of the console's main screens at 1280 px and 390 px, for docs/console/.

Run against the local stack (deploy/dev/up.sh, sandbox mode): it adds a little demo data to the
default space through the public APIs (people, events, consent, a template, an audience, a journey,
a broadcast, a webhook destination), signs in with the default space's token, and saves one PNG per
screen and width, plus docs/console/README.md that shows them.

    deploy/dev/up.sh && python3 deploy/dev/console-screenshots.py [--out docs/console]
"""
import argparse
import os
import time
import uuid

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONSOLE = os.environ.get("ENGAGE_CONSOLE_URL", "http://127.0.0.1:8080")
PROFILES, SUBSCRIPTIONS, AUDIENCES, JOURNEYS, MESSAGING, EVENTS_SOURCE = (
    f"http://127.0.0.1:{port}" for port in range(8081, 8087))
FAKES = os.environ.get("ENGAGE_FAKES_URL", "http://127.0.0.1:18025")
WIDTHS = {"desktop": (1280, 900), "mobile": (390, 844)}
# (file name, title, path or a list page whose first matching link is followed)
SCREENS = [
    ("overview", "Overview", "/", None),
    ("profile", "Profile explorer", "/profiles", None),
    ("subscriptions", "Subscriptions and CSV upload", "/subscriptions", None),
    ("templates", "Templates", "/templates", None),
    ("template-editor", "Template editor with live preview", "/templates", "a[href^='/templates/tpl_']:has-text('Welcome')"),
    ("audiences", "Audiences", "/audiences", None),
    ("audience-builder", "Audience condition builder", "/audiences/new", None),
    ("journey", "Journey graph with step counts", "/journeys", "a[href^='/journeys/jny_']:has-text('Abandoned cart')"),
    ("broadcasts", "Broadcasts", "/broadcasts", None),
    ("analytics", "Analytics", "/analytics", None),
    ("channels", "Channels", "/channels", None),
    ("destinations", "Destinations", "/destinations", None),
    ("settings", "Identity and sources", "/settings", None),
]


def load_space():
    values = {}
    with open(os.path.join(ROOT, ".dev", "default-space.env")) as env:
        for line in env:
            key, _, value = line.strip().partition("=")
            values[key] = value
    return values


def seed(space):
    """Demo data through the APIs; each run adds a few more people, nothing is required to exist."""
    auth = {"Authorization": f"Bearer {space['ACCESS_TOKEN']}"}
    write = (space["WRITE_KEY"], "")
    sid = space["SPACE_ID"]
    run = uuid.uuid4().hex[:4]
    people = [("ada", "Ada", "pro", "+14155550101"), ("grace", "Grace", "pro", "+14155550102"),
              ("alan", "Alan", "free", "+14155550103")]
    batch = []
    for key, name, plan, phone in people:
        user = f"{key}-{run}"
        batch.append({"type": "identify", "userId": user, "anonymousId": f"anon-{user}",
                      "traits": {"email": f"{user}@example.com", "first_name": name, "plan": plan, "phone": phone}})
        batch += [{"type": "track", "userId": user, "event": "Product Viewed", "properties": {"sku": f"sku-{i}"}}
                  for i in range(3)]
        batch.append({"type": "track", "userId": user, "event": "Product Added", "properties": {"sku": "sku-1"}})
    requests.post(f"{PROFILES}/v1/batch", json={"batch": batch}, auth=write).raise_for_status()
    requests.put(f"{SUBSCRIPTIONS}/spaces/{sid}/messaging-subscriptions", headers=auth, json={"subscriptions": [
        {"key": f"{key}-{run}@example.com", "type": "EMAIL", "status": "SUBSCRIBED"} for key, *_ in people]})
    template = requests.post(f"{MESSAGING}/spaces/{sid}/templates", headers=auth, json={
        "name": f"Welcome {run}", "channel": "EMAIL", "purpose": "marketing",
        "content": {"subject": "Hi {{profile.traits.first_name | default: \"there\"}}",
                    "html": "<h1>Welcome, {{profile.traits.first_name}}!</h1>\n<p>Your plan: {{profile.traits.plan}}</p>\n"
                            "<a href=\"{{unsubscribe_link}}\">Unsubscribe</a>"}}).json().get("data", {})
    audience = requests.post(f"{AUDIENCES}/spaces/{sid}/audiences", headers=auth, json={
        "key": f"browsers_{run}", "name": f"Pro browsers {run}", "definition": {"type": "and", "conditions": [
            {"type": "event", "event": "Product Viewed", "count": {"operator": "at_least", "value": 2},
             "window": {"within": {"value": 7, "unit": "days"}}},
            {"type": "trait", "trait": "plan", "operator": "equals", "value": "pro"}]}}).json().get("data", {})
    if template.get("id"):
        journey = requests.post(f"{JOURNEYS}/spaces/{sid}/journeys", headers=auth, json={
            "name": f"Abandoned cart {run}", "definition": {
                "entry": {"type": "event", "event": "Product Added"},
                "exitRules": [{"type": "event", "event": "Order Completed"}], "start": "wait",
                "steps": [{"id": "wait", "type": "wait", "seconds": 3600, "next": "email"},
                          {"id": "email", "type": "send", "channel": "EMAIL", "templateId": template["id"],
                           "goal": {"event": "Order Completed", "windowSeconds": 86400}, "next": None}]}}).json()
        journey_id = journey.get("data", {}).get("id")
        # The template and the audience reach journeys on topics: retry until they have.
        if journey_id and until(lambda: requests.post(
                f"{JOURNEYS}/spaces/{sid}/journeys/{journey_id}/publish", headers=auth).ok):
            # Carts abandoned after publishing enter it; one order completes, so the graph has counts.
            requests.post(f"{PROFILES}/v1/batch", auth=write, json={"batch": [
                {"type": "track", "userId": f"{key}-{run}", "event": "Product Added", "properties": {"sku": "sku-2"}}
                for key, *_ in people]}).raise_for_status()
            time.sleep(3)  # the carts first: an order in the same instant could land before them
            requests.post(f"{PROFILES}/v1/track", auth=write, json={
                "userId": f"alan-{run}", "event": "Order Completed", "properties": {"total": 42}}).raise_for_status()
        if audience.get("id"):
            until(lambda: requests.post(f"{JOURNEYS}/spaces/{sid}/broadcasts", headers=auth, json={
                "name": f"Spring sale {run}", "audienceId": audience["id"], "channel": "EMAIL",
                "templateId": template["id"], "throttlePerMinute": 600}).ok)
            provider_events(sid)
    requests.post(f"{EVENTS_SOURCE}/spaces/{sid}/destinations", headers=auth, json={
        "name": f"Warehouse {run}", "url": "https://hooks.example.com/engage", "events": ["Email *"]})
    return f"email:ada-{run}@example.com"


def until(condition, seconds=30):
    """True once `condition` holds, False after `seconds`: demo data is best effort."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def provider_events(sid):
    """Once the broadcast's emails reach the SendGrid fake: delivered, most opened, one clicked."""
    def sends():
        return requests.get(f"{FAKES}/_fake/requests", params={"kind": "sendgrid", "space_id": sid}).json()
    until(lambda: len(sends()) >= 2)
    for index, send in enumerate(sends()):
        message = send.get("message_id")
        events = ["delivered", "open"] + (["open", "click"] if index == 0 else [])
        for event in events:
            body = {"message_id": message, "event": event}
            if event == "click":
                body["url"] = "https://shop.example/spring"
            requests.post(f"{FAKES}/_fake/sendgrid-event", json=body)


def shoot(out, space, person):
    from playwright.sync_api import sync_playwright
    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("ENGAGE_CHROMIUM", "/usr/bin/chromium"),
                                             args=["--no-sandbox"])
        for width_name, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(CONSOLE + "/sign-in")
            page.screenshot(path=os.path.join(out, f"sign-in-{width_name}.png"))
            page.get_by_label("Space access token").fill(space["ACCESS_TOKEN"])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(CONSOLE + "/")
            for name, title, path, follow in SCREENS:
                target = path
                if name == "profile":
                    target = f"/profiles/{person}"
                page.goto(CONSOLE + target)
                if follow:
                    link = page.locator(f"main {follow}").first
                    if link.count() == 0:
                        print(f"skipped {name}: no {follow} on {path}")
                        continue
                    link.click()
                page.wait_for_load_state("networkidle")
                if name == "template-editor":  # the preview for the demo person
                    page.get_by_label("Profile", exact=True).fill(person)
                    page.get_by_role("button", name="Show preview").click()
                    page.wait_for_load_state("networkidle")
                file = f"{name}-{width_name}.png"
                page.screenshot(path=os.path.join(out, file), full_page=width_name == "desktop")
                shots.append((name, title, width_name, file))
            context.close()
        browser.close()
    return shots


def write_index(out, shots):
    lines = ["# The console, screen by screen", "",
             "Made with `python3 deploy/dev/console-screenshots.py` against `deploy/dev/up.sh` (sandbox data).",
             "Each screen at 1280 px, then at 390 px. What each screen does: [../console.md](../console.md).", "",
             "![Sign in](sign-in-desktop.png)", ""]
    titles = {}
    for name, title, width_name, file in shots:
        titles.setdefault((name, title), []).append(file)
    for (name, title), files in titles.items():
        lines += [f"## {title}", ""] + [f"![{title}]({file})" for file in files] + [""]
    with open(os.path.join(out, "README.md"), "w") as index:
        index.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "console"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    space = load_space()
    person = seed(space)
    time.sleep(8)  # demo data flows through the topics into every service; nothing here asserts on it
    write_index(args.out, shoot(args.out, space, person))
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
