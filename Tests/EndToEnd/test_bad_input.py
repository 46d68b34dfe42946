"""Every refusal is a precise JSON error; nothing valid is lost."""
import gzip
import json

import requests

from engage_harness import Space, wait_for


def post(space, path, body=None, raw=None, headers=None, auth=True):
    all_headers = dict(space.write_auth()) if auth else {}
    all_headers.update(headers or {})
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(f"{space.url}/v1/{path}", data=data, headers=all_headers)


def assert_error(response, status, code, fragment):
    assert response.status_code == status, response.text
    body = response.json()
    # Top-level code/message for Segment's tracking clients, and the Profile API's nested form.
    assert body["code"] == code and fragment in body["message"], body
    assert body["error"] == {"code": code, "message": body["message"]}


def test_tracking_api_refusals(profiles):
    space = Space(profiles.url)
    assert_error(post(space, "track", {"anonymousId": "a", "event": "E"}, auth=False), 401, "authentication_error", "write key is required")
    assert_error(post(space, "track", {"anonymousId": "a", "event": "E", "writeKey": "nope"}, auth=False), 401,
                 "authentication_error", "invalid write key")
    assert_error(post(space, "track", {"event": "E"}), 400, "invalid_request_error", "userId or anonymousId is required")
    assert_error(post(space, "track", raw=b'{"anonymousId": "a", "event": '), 400, "invalid_request_error", "malformed JSON")
    assert_error(post(space, "track", raw=b"[]"), 400, "invalid_request_error", "must be a JSON object")
    big = {"anonymousId": "a", "event": "E", "properties": {"blob": "x" * (33 * 1024)}}
    assert_error(post(space, "track", big), 400, "request_too_large", "32 KB")
    batch = {"batch": [{"type": "track", "anonymousId": "a", "event": "E", "properties": {"blob": "x" * 30_000}} for _ in range(18)]}
    assert_error(post(space, "batch", batch), 400, "request_too_large", "500 KB")
    zipped = gzip.compress(json.dumps(big).encode())
    assert_error(post(space, "track", raw=zipped, headers={"Content-Encoding": "gzip"}), 400, "request_too_large", "32 KB")
    assert_error(post(space, "track", raw=b"not gzip", headers={"Content-Encoding": "gzip"}), 400, "invalid_request_error", "gzip")
    mixed = {"batch": [{"type": "track", "anonymousId": "a", "event": "Good"}, {"type": "track", "anonymousId": "a"}]}
    assert_error(post(space, "batch", mixed), 400, "invalid_request_error", "batch[1]: track: event is required")
    # Nothing of a refused batch was stored.
    assert post(space, "track", {"anonymousId": "a", "event": "Marker"}).status_code == 200
    events = wait_for(lambda: space.all_events("anonymous_id:a"), what="marker event")
    assert [e["event"] for e in events] == ["Marker"]


def test_accepted_forms_of_auth_and_body(profiles):
    space = Space(profiles.url)
    # writeKey in the body, text/plain content type (analytics.js), short path, gzip body.
    ok = requests.post(f"{space.url}/v1/t", data=json.dumps({"anonymousId": "f", "event": "Short", "writeKey": space.write_key}),
                       headers={"Content-Type": "text/plain"})
    assert ok.status_code == 200 and ok.json() == {"success": True}
    zipped = gzip.compress(json.dumps({"anonymousId": "f", "event": "Zipped"}).encode())
    assert post(space, "track", raw=zipped, headers={"Content-Encoding": "gzip"}).status_code == 200
    preflight = requests.options(f"{space.url}/v1/batch", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    wait_for(lambda: {e["event"] for e in space.all_events("anonymous_id:f")} == {"Short", "Zipped"}, what="both events")


def test_profile_api_refusals(profiles):
    space = Space(profiles.url)
    other = Space(profiles.url)
    assert post(space, "identify", {"userId": "x+1@example.com"}).status_code == 200
    wait_for(lambda: space.profile("user_id:x+1@example.com", "traits").status_code == 200, what="profile with + in id")
    missing = space.profile("user_id:nobody", "traits")
    assert missing.status_code == 404 and missing.json()["error"] == {"code": "not_found", "message": "Profile was not found."}
    assert space.profile("no-prefix", "traits").status_code == 404
    unauth = requests.get(f"{space.url}/v1/spaces/{space.id}/collections/users/profiles/user_id:x/traits")
    assert unauth.status_code == 401 and unauth.json()["error"]["code"] == "authentication_error"
    wrong_space = requests.get(f"{space.url}/v1/spaces/{space.id}/collections/users/profiles/user_id:x/traits", auth=(other.token, ""))
    assert wrong_space.status_code == 403
    assert space.profile("user_id:x+1@example.com", "traits", limit=0).json()["error"]["code"] == "validation_error"


def test_profile_api_answers_429_past_the_rate_limit(profiles, log_dir):
    from engage_harness import ServiceProcess
    limited = ServiceProcess("profiles", log_dir, extra_env={"ENGAGE_PROFILE_API_RATE_LIMIT": "5"}).start()
    try:
        space = Space(profiles.url)
        space.url = limited.url
        answers = [space.profile("user_id:nobody", "traits") for _ in range(12)]
        limited_answers = [a for a in answers if a.status_code == 429]
        assert limited_answers, [a.status_code for a in answers]
        assert limited_answers[0].json()["error"]["code"] == "rate_limit_error"
        assert int(limited_answers[0].headers["Retry-After"]) >= 1
        assert {a.status_code for a in answers} <= {404, 429}
    finally:
        assert limited.terminate(timeout=30) == 0
