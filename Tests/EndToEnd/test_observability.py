"""Metrics and tracing as an operator sees them. RED metrics by route template and process metrics
on /metrics, each with HELP text. Tracing across the services: one identify that starts a journey which sends an SMS is one trace,
from the tracking call through profiles, audiences, journeys and messaging-send to the Twilio call
and on to events-source. Every service of the run exports to the session's OTLP receiver (conftest)."""
import secrets
import time
import uuid

import pytest
import requests

from engage_harness import Space, wait_for
from journeys_helpers import JourneySpace, audience

SERVICES = {"profiles", "audiences", "journeys", "messaging-send", "events-source"}


def test_one_trace_follows_an_identify_to_the_sms_and_the_events_source(
        profiles, subscriptions, messaging, fakes, journeys, audiences, events_source, otlp):
    if otlp is None:
        pytest.skip("tracing is off in this run (ENGAGE_E2E_OTLP=0)")
    js = JourneySpace(profiles, subscriptions, messaging, fakes, journeys, audiences)
    welcome = js.template("SMS", "Welcome", {"body": "Welcome aboard"}, purpose="transactional")
    gold = audience(js, "gold_" + uuid.uuid4().hex[:6], {"type": "trait", "trait": "plan", "operator": "equals", "value": "gold"})
    js.journey("Gold welcome", {"entry": {"type": "audience", "audienceId": gold}, "start": "send",
                                "steps": [{"id": "send", "type": "send", "channel": "SMS", "templateId": welcome,
                                           "purpose": "transactional", "next": None}]})
    phone = "+1415" + str(secrets.randbelow(10 ** 7)).zfill(7)
    # The caller's own trace: the identify continues it, so its id is known here.
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    identify = requests.post(f"{profiles.url}/v1/identify",
                             json={"userId": "traced-" + uuid.uuid4().hex[:6], "traits": {"plan": "gold", "phone": phone}},
                             headers={**js.space.write_auth(), "traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert identify.status_code == 200, identify.text
    wait_for(lambda: [r for r in fakes.requests("twilio", space_id=js.id) if r["recipient"] == phone], timeout=90,
             what="the journey's SMS to reach the Twilio fake")

    def complete():
        spans = otlp.spans(trace_id)
        names = {s["service"] for s in spans}
        reached_source = any(s["service"] == "events-source" and s["name"].startswith("process engage.message-events")
                             for s in spans)
        return spans if SERVICES <= names and reached_source and any(s["name"] == "Twilio send" for s in spans) else None

    spans = wait_for(complete, timeout=60, interval=0.5, what="spans of every service in the identify's trace")
    in_trace = [s for s in spans if s["traceId"] == trace_id]
    ids = {s["spanId"] for s in in_trace}
    # Connected: every span's parent is another span of the trace, or the caller's span.
    orphans = [s for s in in_trace if s["parentSpanId"] not in ids | {caller_span}]
    assert orphans == [], orphans
    roots = [s for s in in_trace if s["parentSpanId"] == caller_span]
    assert [(r["service"], r["kind"]) for r in roots] in ([("profiles", "SPAN_KIND_SERVER")], [("profiles", 2)]), roots
    by_name = {s["name"]: s for s in in_trace}
    assert "publish engage.tracking" in by_name and "process engage.tracking" in by_name
    twilio = by_name["Twilio send"]
    assert twilio["service"] == "messaging-send"
    assert any(s["name"] == "db transaction" for s in in_trace)
    # The hops in order: each service's work descends from the previous service's.
    parents = {s["spanId"]: s["parentSpanId"] for s in in_trace}

    def ancestors(span):
        chain, current = [], span["parentSpanId"]
        while current in parents:
            chain.append(current)
            current = parents[current]
        return chain

    def spans_of(service):
        return {s["spanId"] for s in in_trace if s["service"] == service}

    entered = next(s for s in in_trace if s["service"] == "journeys" and s["name"] == "process engage.audience-membership")
    assert spans_of("audiences") & set(ancestors(entered)), "the journey's entry does not descend from audiences' work"
    assert spans_of("profiles") & set(ancestors(entered))
    assert spans_of("journeys") & set(ancestors(twilio)), "the Twilio call does not descend from the journey's work"
    delivered = next(s for s in in_trace if s["service"] == "events-source" and s["name"] == "process engage.message-events")
    assert spans_of("messaging-send") & set(ancestors(delivered))


def test_metrics_count_requests_by_route_template_with_help_and_process_figures(profiles):
    space = Space(profiles.url)
    for user in ("ada", "grace"):
        space.send("identify", {"userId": f"metrics-{user}-{uuid.uuid4().hex[:6]}", "traits": {"plan": "gold"}})
    missing = requests.get(f"{profiles.url}/v1/spaces/{space.id}/collections/users/profiles/user_id:nobody/traits",
                           auth=(space.token, ""))
    assert missing.status_code == 404
    text = requests.get(f"{profiles.url}/metrics").text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    identify = 'engage_http_requests_total{method="POST",route="/v1/identify",status="200"}'
    assert samples.get(identify, 0) >= 2, [k for k in samples if k.startswith("engage_http_requests_total")]
    # The route template, never the raw path with its ids.
    template = ('engage_http_requests_total{method="GET",route="/v1/spaces/{space_id}/collections/{collection}'
                '/profiles/{identifier}/traits",status="404"}')
    assert samples.get(template, 0) >= 1
    assert not any(space.id in name for name in samples), "a raw path became a label"
    assert "# HELP engage_http_requests_total HTTP requests answered, by method, route template and status." in text
    assert "# TYPE engage_http_request_duration_seconds histogram" in text
    assert samples["engage_process_resident_memory_bytes"] > 10_000_000
    assert 5 < samples["engage_process_open_fds"] < samples["engage_process_max_fds"]
    assert samples["engage_process_cpu_seconds_total"] > 0
    assert abs(samples["engage_process_start_time_seconds"] - time.time()) < 3600
    undocumented = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")} - {
        line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")}
    assert undocumented == set(), undocumented
