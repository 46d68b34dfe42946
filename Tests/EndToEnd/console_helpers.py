"""The console under test: its process, a real Chromium driven by Playwright, and sign-in."""
import contextlib
import os
import re

import requests

from engage_harness import BIN_PATH, SECRETS_KEY, ServiceProcess, Space, wait_for, wait_for_token

CHROMIUM = os.environ.get("ENGAGE_CHROMIUM", "/usr/bin/chromium")


class ConsoleProcess(ServiceProcess):
    """The console executable, pointed at the services the tests started. It has no schema."""

    def __init__(self, log_dir, services, extra_env=None):
        env = {
            "ENGAGE_CONSOLE_PROFILES_URL": services["profiles"].url,
            "ENGAGE_CONSOLE_SUBSCRIPTIONS_URL": services["subscriptions"].url,
            "ENGAGE_CONSOLE_AUDIENCES_URL": services["audiences"].url,
            "ENGAGE_CONSOLE_JOURNEYS_URL": services["journeys"].url,
            "ENGAGE_CONSOLE_MESSAGING_URL": services["messaging-send"].url,
            "ENGAGE_CONSOLE_EVENTS_SOURCE_URL": services["events-source"].url,
            "ENGAGE_CONSOLE_SESSION_KEY": SECRETS_KEY,
        }
        env.update(extra_env or {})
        super().__init__("console", log_dir, extra_env=env)

    def _connect_as_own_role(self):
        pass  # the console has no database


@contextlib.contextmanager
def launch_browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def save_failure_screenshot(page, log_dir, test_name):
    directory = os.path.join(log_dir, "console-screenshots")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, re.sub(r"[^A-Za-z0-9_.-]", "_", test_name) + ".png")
    try:
        page.screenshot(path=path, full_page=True)
        print(f"screenshot of the failure: {path}")
    except Exception as error:  # a crashed page still fails the test with its own error
        print(f"no screenshot: {error}")


def new_space(profiles, *services):
    """A fresh space whose token has reached every given service (they learn tokens from engage.spaces)."""
    space = Space(profiles.url)
    for service in services:
        wait_for_token(service.url, space) if service.name == "subscriptions" else wait_for(
            lambda: requests.get(f"{service.url}/ready").status_code == 200 and token_works(service, space),
            timeout=60, what=f"the space's token to reach {service.name}")
    return space


def token_works(service, space):
    paths = {"audiences": "/audiences", "journeys": "/journeys", "messaging-send": "/templates",
             "events-source": "/destinations"}
    response = requests.get(f"{service.url}/spaces/{space.id}{paths[service.name]}",
                            headers={"Authorization": f"Bearer {space.token}"})
    return response.status_code == 200


def sign_in(page, console, space):
    """Signs in through the form, as a person would, and lands on the overview."""
    page.goto(console.url + "/sign-in")
    page.get_by_label("Space access token").fill(space.token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(console.url + "/")
    return page
