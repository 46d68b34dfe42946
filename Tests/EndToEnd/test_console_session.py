"""The console's sign-in, session and CSRF protection, in a real browser against the real services."""
import re
import time

import requests
from playwright.sync_api import expect

from console_helpers import ConsoleProcess, new_space, sign_in
from engage_harness import wait_for


def test_bad_token_gets_a_clear_message_and_no_session(console, page, profiles):
    page.goto(console.url + "/templates")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/templates"))
    page.get_by_label("Space access token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("does not open any space")
    assert not [c for c in page.context.cookies() if c["name"] == "engage_session"]


def test_sign_in_returns_to_the_page_asked_for_and_sign_out_ends_the_session(console, page, profiles, messaging):
    space = new_space(profiles, messaging)
    page.goto(console.url + "/templates")
    page.get_by_label("Space access token").fill(space.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(console.url + "/templates")
    expect(page.locator(".topbar .space")).to_have_text(re.compile(r"e2e "))

    cookie = next(c for c in page.context.cookies() if c["name"] == "engage_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert space.token not in cookie["value"]
    # The page's scripts cannot read the session (HttpOnly), and the token is nowhere in the page.
    assert page.evaluate("document.cookie").find("engage_session") == -1
    assert space.token not in page.content()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(console.url + "/templates")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_a_form_without_the_sessions_csrf_token_is_refused(console, page, profiles, subscriptions, messaging):
    space = new_space(profiles, subscriptions, messaging)
    sign_in(page, console, space)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    # A cross-site form post carries the cookie (a browser sends it on top-level POSTs) but not the token.
    forged = requests.post(console.url + "/sign-out", cookies=cookies, data={"_csrf": "guessed"},
                           allow_redirects=False)
    assert forged.status_code == 403, forged.text
    assert "refused" in forged.text
    # With the right token but from another origin, it is refused as well.
    token = page.locator("input[name=_csrf]").first.get_attribute("value")
    foreign = requests.post(console.url + "/sign-out", cookies=cookies, data={"_csrf": token},
                            headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert foreign.status_code == 403
    # The session is still alive: the forged posts changed nothing.
    page.goto(console.url + "/")
    expect(page.locator(".topbar .space")).to_be_visible()
    # The same form from the console itself works.
    same = requests.post(console.url + "/sign-out", cookies=cookies, data={"_csrf": token}, allow_redirects=False)
    assert same.status_code == 303


def test_a_session_of_one_space_cannot_see_another(console, page, browser, profiles, messaging):
    mine, theirs = new_space(profiles, messaging), new_space(profiles, messaging)
    created = requests.post(f"{messaging.url}/spaces/{theirs.id}/templates", headers={"Authorization": f"Bearer {theirs.token}"},
                            json={"name": "Their secret template", "channel": "SMS", "purpose": "transactional",
                                  "content": {"body": "theirs"}})
    assert created.status_code == 201, created.text
    their_template = created.json()["data"]["id"]
    sign_in(page, console, mine)
    page.goto(console.url + "/templates")
    expect(page.get_by_text("Their secret template")).to_have_count(0)
    response = page.goto(f"{console.url}/templates/{their_template}")
    assert response.status == 404
    expect(page.get_by_text("Their secret template")).to_have_count(0)


def test_a_stale_session_is_sent_back_to_sign_in(log_dir, page, profiles, subscriptions, audiences, journeys, messaging,
                                                 events_source):
    services = {"profiles": profiles, "subscriptions": subscriptions, "audiences": audiences, "journeys": journeys,
                "messaging-send": messaging, "events-source": events_source}
    lifetime = 8
    short = ConsoleProcess(log_dir, services, {"ENGAGE_CONSOLE_SESSION_SECONDS": str(lifetime)}).start()
    try:
        space = new_space(profiles, messaging)
        sign_in(page, short, space)
        signed_in = time.monotonic()  # the session began before this
        # Nothing may ask the console anything until the session has ended: the first request after
        # its end (a page's own script included) gets the notice and clears the cookie.
        page.goto("about:blank")
        # The session ends `lifetime` seconds after sign-in, whatever the cookie's own lifetime says
        # in the browser (a skewed clock, a cookie kept longer): keep the cookie for an hour, so that
        # the server alone decides; the first visit after the end lands on sign-in with the notice.
        cookies = page.context.cookies(short.url)
        assert cookies, "the session cookie is set"
        page.context.add_cookies([{**cookie, "expires": time.time() + 3600} for cookie in cookies])
        wait_for(lambda: time.monotonic() > signed_in + lifetime + 1, timeout=lifetime + 5, interval=0.2,
                 what="the session's lifetime to pass")
        page.goto(short.url + "/templates")
        assert "/sign-in" in page.url
        expect(page.get_by_text("Your session ended")).to_be_visible()
    finally:
        short.terminate()


def test_a_revoked_token_ends_the_session(console, page, profiles, messaging):
    space = new_space(profiles, messaging)
    sign_in(page, console, space)
    # Another token of the space revokes the session's token (profiles' space settings API).
    other = requests.post(f"{profiles.url}/admin/spaces/{space.id}/access-tokens", json={"name": "other"},
                          headers=space.admin).json()["token"]
    tokens = requests.get(f"{profiles.url}/v1/spaces/{space.id}/access-tokens",
                          headers={"Authorization": f"Bearer {other}"}).json()["data"]
    session_token = next(t["id"] for t in tokens if t["name"] == "e2e")
    revoked = requests.delete(f"{profiles.url}/v1/spaces/{space.id}/access-tokens/{session_token}",
                              headers={"Authorization": f"Bearer {other}"})
    assert revoked.status_code == 204
    wait_for(lambda: page.goto(console.url + "/settings") and "/sign-in" in page.url, timeout=30, interval=0.5,
             what="the console to notice the revoked token")
    expect(page.get_by_text("no longer opens its space")).to_be_visible()
