"""What the console's image must do wherever it runs (the dev overlay, compose): become ready once the
services answer, serve its sign-in page, its own assets (the resource bundle beside the binary) and
Debian's browser libraries (/usr/share/javascript in the image), and sign a person in with a space
access token. Used by test_containers.py and test_compose.py."""
import requests

from engage_harness import wait_for

SERVICES = ["profiles", "subscriptions", "audiences", "journeys", "messaging-send", "events-source"]


def ready(url):
    try:
        return requests.get(url + "/ready", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def check_console(url, space, timeout=180):
    """`url` is where the console is published; `space` a Space whose token it signs in with."""
    wait_for(lambda: ready(url), timeout=timeout, interval=1, what=f"the console /ready at {url}")
    # Every service answers it from inside its network, not only profiles (which /ready requires).
    states = wait_for(lambda: (r := requests.get(url + "/ready", timeout=5)).status_code == 200
                      and all(state == "up" for state in r.json()["services"].values()) and r.json()["services"],
                      timeout=60, interval=1, what="every service up in the console's /ready")
    assert sorted(states) == sorted(SERVICES), states
    assert requests.get(url + "/health", timeout=5).status_code == 200

    browser = requests.Session()
    page = browser.get(url + "/sign-in", timeout=10)
    assert page.status_code == 200 and 'name="_form"' in page.text, page.text[:500]
    # Its own assets come from the resource bundle next to /usr/local/bin/service.
    for path in ("/assets/console.css", "/assets/console.js"):
        assert browser.get(url + path, timeout=10).status_code == 200, path
    # Chart.js and CodeMirror come from Debian's libjs-* packages in the image.
    for path in ("/vendor/chart.js/chart.min.js", "/vendor/codemirror/lib/codemirror.js"):
        assert browser.get(url + path, timeout=10).status_code == 200, path

    form_token = browser.cookies.get("engage_sign_in")
    assert form_token, "the sign-in form sets its CSRF cookie"
    signed_in = browser.post(url + "/sign-in", data={"_form": form_token, "token": space.token, "next": "/"},
                             allow_redirects=False, timeout=30)
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/", (signed_in.status_code, signed_in.text[:500])
    assert browser.cookies.get("engage_session"), "signed in: the sealed session cookie is set"
    home = browser.get(url + "/", allow_redirects=False, timeout=30)
    assert home.status_code == 200 and space.id in home.text, (home.status_code, home.text[:500])
