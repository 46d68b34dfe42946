"""The `engage` CLI against the real services: definitions as code (export, diff, apply: a round trip
into an empty space, idempotence, step mapping, a refused directory that changes nothing), the CSV
upload with its error report, and the everyday commands with their exit statuses."""
import json
import os
import subprocess

import pytest
import requests

from engage_harness import ADMIN_TOKEN, BIN_PATH, BROKERS, Space, bearer, wait_for, wait_for_token
from messaging_helpers import SENDGRID_KEY, TWILIO, MessagingSpace

SECRETS = {"ENGAGE_SENDGRID_API_KEY": SENDGRID_KEY, "ENGAGE_TWILIO_API_KEY_SECRET": TWILIO["apiKeySecret"],
           "ENGAGE_TWILIO_AUTH_TOKEN": TWILIO["authToken"]}


def cli_env(services, token, tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")}
    env.update({"ENGAGE_CONFIG": str(tmp_path / "config.json"), "ENGAGE_TOKEN": token, "ENGAGE_KAFKA_BROKERS": BROKERS})
    for name, service in services.items():
        env["ENGAGE_" + name.upper().replace("-", "_") + "_URL"] = service.url
    env.update(extra)
    return env


def engage(env, *args, timeout=180):
    return subprocess.run([os.path.join(BIN_PATH, "engage"), *args], env=env, capture_output=True, text=True, timeout=timeout)


def tree(root):
    """Every file under root, relative path -> parsed JSON."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path) as handle:
                files[os.path.relpath(path, root)] = json.load(handle)
    return files


@pytest.fixture
def services(profiles, subscriptions, audiences, journeys, messaging, events_source, fakes):
    return {"profiles": profiles, "subscriptions": subscriptions, "audiences": audiences, "journeys": journeys,
            "messaging-send": messaging, "events-source": events_source}


def empty_space(services):
    space = Space(services["profiles"].url)
    for name in ("subscriptions", "messaging-send", "journeys", "audiences", "events-source"):
        url = services[name].url
        probe = {"subscriptions": "/subscription-groups", "messaging-send": "/templates", "journeys": "/journeys",
                 "audiences": "/audiences", "events-source": "/destinations"}[name]
        wait_for(lambda: requests.get(f"{url}/spaces/{space.id}{probe}", headers=bearer(space.token)).status_code == 200,
                 timeout=60, what=f"the new space's token to reach {name}")
    return space


def populate(ms, services):
    """A space with one of each kind of definition, made through the APIs as a user would."""
    auth, sid = ms.auth, ms.id
    m, a, j, e = (services[n].url for n in ("messaging-send", "audiences", "journeys", "events-source"))
    for url, probe in ((a, "/audiences"), (j, "/journeys"), (e, "/destinations")):
        wait_for(lambda: requests.get(f"{url}/spaces/{sid}{probe}", headers=auth).status_code == 200, timeout=60,
                 what="the space's token to reach every service")
    ok = lambda r: r.json() if r.status_code < 300 else pytest.fail(f"{r.request.method} {r.url}: {r.status_code} {r.text}")
    ok(requests.put(f"{m}/spaces/{sid}/messaging/send-policy", json={"frequencyCap": {"messages": 3, "windowSeconds": 86400},
                                                                    "quietHours": {"start": "21:00", "end": "08:00"}}, headers=auth))
    sms = ok(requests.post(f"{m}/spaces/{sid}/templates", json={"name": "Promo", "channel": "SMS", "content": {
        "body": "Hi {{profile.traits.first_name | default: \"there\"}}, 20% off today"}}, headers=auth))["data"]["id"]
    ok(requests.post(f"{m}/spaces/{sid}/templates", json={"name": "Welcome", "channel": "EMAIL", "content": {
        "subject": "Welcome", "html": "<p>Hello</p>{{unsubscribe_link}}"}}, headers=auth))
    ok(requests.post(f"{m}/spaces/{sid}/templates", json={"name": "Receipt", "channel": "EMAIL", "purpose": "transactional",
                                                          "content": {"subject": "Your receipt", "text": "Thanks"}}, headers=auth))
    vip = ok(requests.post(f"{a}/spaces/{sid}/audiences", json={"key": "vip", "name": "VIP", "definition": {
        "type": "trait", "trait": "plan", "operator": "equals", "value": "gold"}}, headers=auth))["data"]["id"]
    ok(requests.post(f"{a}/spaces/{sid}/audiences", json={"key": "vip_reachable", "definition": {"type": "and", "conditions": [
        {"type": "audience", "audience": "vip"}, {"type": "subscription", "channel": "SMS", "status": "subscribed"}]}}, headers=auth))
    ok(requests.post(f"{a}/spaces/{sid}/computed-traits", json={"key": "orders_30d", "description": "Orders in 30 days",
                                                                 "definition": {"type": "event_counter", "event": "Order Completed",
                                                                                "window": {"within": {"value": 30, "unit": "days"}}}},
                     headers=auth))
    ok(requests.post(f"{a}/spaces/{sid}/audiences", json={"key": "loyal", "definition": {
        "type": "computed_trait", "trait": "orders_30d", "operator": "greater_or_equal", "value": 2}}, headers=auth))
    wait_for(lambda: requests.get(f"{j}/spaces/{sid}/broadcasts/estimate", params={"audienceId": "vip"},
                                  headers=auth).status_code == 200, timeout=60, what="journeys to know the audience")
    journey = ok(requests.post(f"{j}/spaces/{sid}/journeys", json={"name": "VIP welcome", "definition": {
        "entry": {"type": "audience", "audienceId": vip}, "start": "wait",
        "steps": [{"id": "wait", "type": "wait", "seconds": 60, "next": "promo"},
                  {"id": "promo", "type": "send", "channel": "SMS", "templateId": sms, "next": None}]}}, headers=auth))["data"]["id"]
    wait_for(lambda: requests.post(f"{j}/spaces/{sid}/journeys/{journey}/publish", json={}, headers=auth).status_code == 200,
             timeout=60, what="the journey to publish (journeys learns the template from its topic)")
    ok(requests.post(f"{e}/spaces/{sid}/destinations", json={"name": "Warehouse", "url": "http://127.0.0.1:9/hook",
                                                            "events": ["Email *", "Audience Entered"]}, headers=auth))
    wait_for(lambda: requests.post(f"{m}/spaces/{sid}/messaging-destinations", json={
        "name": "VIP texts", "audienceId": "vip", "actions": [{"name": "hello", "type": "send_sms", "templateId": sms}]},
        headers=auth).status_code == 201, timeout=60, what="messaging-send to know the audience")


def test_round_trip_idempotence_and_step_mapping(services, subscriptions, messaging, fakes, tmp_path):
    source = MessagingSpace(services["profiles"], subscriptions, messaging, fakes)
    populate(source, services)
    exported = tmp_path / "space"
    result = engage(cli_env(services, source.space.token, tmp_path), "export", str(exported))
    assert result.returncode == 0, result.stderr
    files = tree(exported)
    assert set(files) == {"providers/sendgrid.json", "providers/twilio.json", "send-policy.json",
                          "subscription-groups/newsletter.json", "templates/promo.sms.json", "templates/welcome.email.json",
                          "templates/receipt.email.json", "audiences/vip.json", "audiences/vip_reachable.json", "audiences/loyal.json",
                          "computed-traits/orders_30d.json", "journeys/vip-welcome.json", "destinations/warehouse.json",
                          "messaging-destinations/vip-texts.json"}, sorted(files)
    text = "".join(open(os.path.join(exported, f)).read() for f in files)
    for secret in SECRETS.values():
        assert secret not in text, "a secret was written out"
    assert files["providers/sendgrid.json"]["apiKey"] == {"env": "ENGAGE_SENDGRID_API_KEY"}
    journey = files["journeys/vip-welcome.json"]
    assert journey["status"] == "published"
    assert journey["definition"]["entry"]["audienceId"] == "vip", "audiences are named by key in files"
    assert journey["definition"]["steps"][1]["template"] == "Promo" and "templateId" not in journey["definition"]["steps"][1]
    assert files["messaging-destinations/vip-texts.json"]["audienceId"] == "vip"
    assert files["templates/promo.sms.json"]["content"]["body"].endswith("Reply STOP to unsubscribe.")

    target = empty_space(services)
    env = cli_env(services, target.token, tmp_path, **SECRETS)
    before = engage(env, "diff", str(exported))
    assert before.returncode == 1, before.stdout + before.stderr
    assert "+ journey VIP welcome" in before.stdout and "13 to create, 1 to change" in before.stdout, before.stdout
    applied = engage(env, "apply", str(exported))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    after = engage(env, "diff", str(exported))
    assert after.returncode == 0, after.stdout + after.stderr
    assert "No changes" in after.stdout

    # The round trip: the empty space now exports to the same files.
    again = tmp_path / "again"
    assert engage(env, "export", str(again)).returncode == 0
    assert tree(again) == files

    # Idempotence: a second apply changes nothing, not even a template version.
    second = engage(env, "apply", str(exported), "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == {"create": [], "update": [], "delete": [], "unchanged": 14, "keptUnlisted": 0}
    m, j = services["messaging-send"].url, services["journeys"].url
    templates = requests.get(f"{m}/spaces/{target.id}/templates", headers=bearer(target.token)).json()["data"]
    assert sorted(t["currentVersion"] for t in templates) == [1, 1, 1]

    sent = engage(env, "send-test", "promo", "--to", "use_someone", "--json")
    assert sent.returncode == 0 and json.loads(sent.stdout)["messageId"].startswith("test_"), sent.stdout + sent.stderr
    assert engage(env, "send-test", "Nothing", "--to", "use_someone").returncode == 3

    # A renamed step with its mapping publishes version 2, which carries the mapping.
    path = exported / "journeys" / "vip-welcome.json"
    journey["definition"]["steps"][1]["id"] = "offer"
    journey["definition"]["steps"][0]["next"] = "offer"
    journey["stepMapping"] = {"promo": "offer"}
    path.write_text(json.dumps(journey, indent=2))
    dry = engage(env, "apply", "--dry-run", str(exported))
    assert dry.returncode == 1 and "~ journey VIP welcome" in dry.stdout, dry.stdout + dry.stderr
    assert engage(env, "apply", str(exported)).returncode == 0
    journey_id = next(x["id"] for x in requests.get(f"{j}/spaces/{target.id}/journeys", headers=bearer(target.token)).json()["data"])
    versions = requests.get(f"{j}/spaces/{target.id}/journeys/{journey_id}/versions", headers=bearer(target.token)).json()["data"]
    assert [v["version"] for v in versions] == [1, 2] or [v["version"] for v in versions] == [2, 1]
    latest = max(versions, key=lambda v: v["version"])
    assert latest["stepMapping"] == {"promo": "offer"}
    assert engage(env, "diff", str(exported)).returncode == 0

    # Deleting a file deletes the definition (journeys are archived); --keep-unlisted leaves it. An
    # audience goes before the computed trait it names, or the service would refuse the trait's deletion.
    os.remove(exported / "destinations" / "warehouse.json")
    os.remove(exported / "audiences" / "loyal.json")
    os.remove(exported / "computed-traits" / "orders_30d.json")
    kept = engage(env, "diff", "--keep-unlisted", str(exported))
    assert kept.returncode == 0 and "3 not in the directory, left as they are" in kept.stdout, kept.stdout
    deleted = engage(env, "apply", str(exported))
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert deleted.stdout.index("- audience loyal") < deleted.stdout.index("- computed-trait orders_30d"), deleted.stdout
    assert requests.get(f"{services['events-source'].url}/spaces/{target.id}/destinations",
                        headers=bearer(target.token)).json()["data"] == []
    assert engage(env, "diff", str(exported)).returncode == 0

    # A directory that defines nothing would delete everything: refused unless asked for.
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = engage(env, "apply", str(empty))
    assert refused.returncode == 65 and "--allow-empty" in refused.stderr, refused.stderr


def test_refused_directory_changes_nothing(services, tmp_path):
    space = empty_space(services)
    env = cli_env(services, space.token, tmp_path)
    root = tmp_path / "bad"
    (root / "templates").mkdir(parents=True)
    (root / "journeys").mkdir()
    (root / "audiences").mkdir()
    (root / "templates" / "ok.json").write_text(json.dumps({"name": "Fine", "channel": "SMS", "content": {"body": "Hi STOP"}}))
    (root / "templates" / "bad-tag.json").write_text(json.dumps({"name": "Broken", "channel": "SMS", "content": {
        "body": "Hi {{profile.traits.name | nosuchfilter}} STOP"}}))
    (root / "templates" / "bad-channel.json").write_text(json.dumps({"name": "Fax", "channel": "FAX", "content": {}}))
    (root / "audiences" / "broken.json").write_text('{"key": "broken",\n  "definition": {"type": }\n}')
    (root / "journeys" / "j.json").write_text(json.dumps({"name": "J", "definition": {
        "entry": {"type": "audience", "audienceId": "nobody"}, "start": "send",
        "steps": [{"id": "send", "type": "send", "channel": "SMS", "template": "Missing", "next": "gone"}]}}))
    (root / "stray.txt").write_text("not a definition")
    result = engage(env, "apply", str(root))
    assert result.returncode == 65, result.stdout + result.stderr
    problems = result.stderr
    for expected in ("audiences/broken.json:2:26: invalid JSON", "templates/bad-channel.json: channel must be EMAIL, SMS or WHATSAPP",
                     "names audience nobody", "names SMS template Missing", "next names no step (gone)",
                     "stray.txt: not a definitions file", "nothing was changed"):
        assert expected in problems, f"{expected!r} not in:\n{problems}"
    m = services["messaging-send"].url
    assert requests.get(f"{m}/spaces/{space.id}/templates", headers=bearer(space.token)).json()["data"] == []

    # With the local problems gone, the services' own checks still run before anything is written.
    for name in ("bad-channel.json",):
        os.remove(root / "templates" / name)
    os.remove(root / "audiences" / "broken.json")
    os.remove(root / "journeys" / "j.json")
    os.remove(root / "stray.txt")
    # The services' own checks: a merge tag, a computed trait, and a journey as publish would see it,
    # naming a template this apply would create.
    (root / "computed-traits").mkdir()
    (root / "computed-traits" / "bogus.json").write_text(json.dumps({"key": "bogus", "definition": {"type": "bogus"}}))
    (root / "journeys" / "split.json").write_text(json.dumps({"name": "Split", "definition": {
        "entry": {"type": "event", "event": "Signed Up"}, "start": "split",
        "steps": [{"id": "split", "type": "random_split", "branches": [{"percent": 50, "next": "send"}, {"percent": 40, "next": None}]},
                  {"id": "send", "type": "send", "channel": "SMS", "template": "Fine", "next": None}]}}))
    result = engage(env, "apply", "--dry-run", str(root))
    assert result.returncode == 65, result.stdout + result.stderr
    assert "templates/bad-tag.json" in result.stderr and "nosuchfilter" in result.stderr, result.stderr
    assert "computed-traits/bogus.json" in result.stderr, result.stderr
    split_problems = [line for line in result.stderr.splitlines() if "journeys/split.json" in line]
    assert split_problems and not any("Fine" in line for line in split_problems), result.stderr
    assert requests.get(f"{m}/spaces/{space.id}/templates", headers=bearer(space.token)).json()["data"] == []
    assert requests.get(f"{services['journeys'].url}/spaces/{space.id}/journeys", headers=bearer(space.token)).json()["data"] == []


def test_csv_upload_waits_and_reports_errors(services, tmp_path):
    space = empty_space(services)
    env = cli_env(services, space.token, tmp_path)
    people = tmp_path / "people.csv"
    people.write_text("email,first_name\nada@example.com,Ada\nnot-an-email,Bad\ngrace@example.com,Grace\n")
    report = tmp_path / "errors.csv"
    result = engage(env, "csv", "upload", str(people), "--wait", "--errors", str(report))
    assert result.returncode == 65, result.stdout + result.stderr
    assert "completed" in result.stdout and "rejected  1" in result.stdout.replace("rejected   ", "rejected  "), result.stdout
    lines = report.read_text().splitlines()
    assert lines[0] == "row_number,error_message,error_code" and lines[1].startswith("3,"), lines  # row 1 is the header
    assert "error report (1 row):" in result.stderr
    wait_for(lambda: space.profile("email:ada@example.com", "traits").status_code == 200, what="Ada's profile")
    good = tmp_path / "good.csv"
    good.write_text("email,first_name\nlin@example.com,Lin\n")
    assert engage(env, "csv", "upload", str(good), "--wait").returncode == 0


def test_everyday_commands_and_exit_statuses(services, tmp_path):
    space = empty_space(services)
    env = cli_env(services, space.token, tmp_path)
    who = engage(env, "whoami", "--json")
    assert who.returncode == 0 and json.loads(who.stdout)["spaceId"] == space.id, who.stderr
    sources = json.loads(engage(env, "sources", "list", "--json").stdout)
    assert [s["id"] for s in sources] == [space.source_id]
    created = json.loads(engage(env, "tokens", "create", "ci", "--json").stdout)
    assert created["token"] and created["name"] == "ci"
    rule = engage(env, "identity", "rules", "set", "crm_id", "--priority", "5", "--limit", "1", "--trait-key", "crmId", "--json")
    assert rule.returncode == 0 and json.loads(rule.stdout)["type"] == "crm_id", rule.stdout + rule.stderr
    rules = json.loads(engage(env, "identity", "rules", "--json").stdout)
    assert "crm_id" in [r["type"] for r in rules]

    changed = engage(env, "subscriptions", "set", "ada@example.com", "--channel", "email", "--status", "subscribed")
    assert changed.returncode == 0 and "subscribed" in changed.stdout, changed.stdout + changed.stderr
    state = json.loads(engage(env, "subscriptions", "get", "ada@example.com", "--json").stdout)
    assert state["channels"][0]["status"] == "subscribed"
    refused = engage(env, "subscriptions", "set", "not-an-email", "--channel", "email", "--status", "subscribed")
    assert refused.returncode == 65, refused.stdout + refused.stderr

    space.send("identify", {"userId": "ada", "traits": {"email": "ada@example.com", "first_name": "Ada"}})
    wait_for(lambda: space.profile("user_id:ada", "traits").status_code == 200, what="Ada's profile")
    shown = engage(env, "profile", "get", "user_id:ada", "--json")
    assert shown.returncode == 0, shown.stderr
    profile = json.loads(shown.stdout)
    assert profile["traits"]["first_name"] == "Ada"
    assert {"type": "email", "id": "ada@example.com"}.items() <= next(
        i for i in profile["identities"] if i["type"] == "email").items()
    assert profile["subscriptions"][0]["channels"][0]["status"] == "subscribed"
    assert engage(env, "profile", "get", "user_id:nobody").returncode == 3
    assert engage(env, "profile", "get", "email:").returncode == 64

    # Profiles in the config file; flags and the environment override them.
    config_env = {k: v for k, v in env.items() if k != "ENGAGE_TOKEN"}
    assert engage(config_env, "whoami").returncode == 78
    assert engage(config_env, "config", "set", "e2e", "--token", space.token, "--admin-token", ADMIN_TOKEN).returncode == 0
    assert oct(os.stat(config_env["ENGAGE_CONFIG"]).st_mode & 0o777) == "0o600"
    assert space.id in engage(config_env, "whoami").stdout
    assert engage(config_env, "whoami", "--token", "wrong").returncode == 77
    made = engage(config_env, "spaces", "create", "cli made", "--json")
    assert made.returncode == 0, made.stderr
    new_space = json.loads(made.stdout)
    wait_for(lambda: engage(config_env, "whoami", "--token", new_space["token"]).returncode == 0, what="the new token")
    assert new_space["id"] in engage(config_env, "whoami", "--token", new_space["token"]).stdout
    spaces = engage(config_env, "spaces", "list", "--json")
    assert spaces.returncode == 0, spaces.stderr
    listed = json.loads(spaces.stdout)
    assert space.id in [s["id"] for s in listed]
    assert engage(config_env, "whoami", "--profile", "missing").returncode == 78
    down = engage(env, "whoami", "--url", "profiles=http://127.0.0.1:9")
    assert down.returncode == 69, down.stderr
    assert engage(env, "diff", str(tmp_path / "nowhere")).returncode == 66
    assert engage(env, "bogus").returncode == 64
    completion = engage(env, "completion", "bash")
    assert completion.returncode == 0 and "_engage" in completion.stdout


def test_tail_prints_the_space_source_events(services, tmp_path):
    space = empty_space(services)
    env = cli_env(services, space.token, tmp_path)
    tail = subprocess.Popen([os.path.join(BIN_PATH, "engage"), "tail", "source-events", "--from-beginning", "--json",
                             "--filter", "Channel *", "--count", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        changed = engage(env, "subscriptions", "set", "tail@example.com", "--channel", "email", "--status", "subscribed")
        assert changed.returncode == 0, changed.stderr
        out, err = tail.communicate(timeout=120)
    finally:
        tail.kill()
    assert tail.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["Channel Subscription Updated"], out
    assert events[0]["properties"]["channel"].upper() == "EMAIL"
