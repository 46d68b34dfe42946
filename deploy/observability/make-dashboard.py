"""Writes grafana-dashboard.json: the on-call view of swift-engage (Grafana 10+, a Prometheus data
source chosen on import). Edit the panels here and run `python3 make-dashboard.py`; the test
command checks that the committed JSON is what this script writes and names only real metrics."""
import json
import os

TRACKING = '/v1/(identify|i|track|t|page|p|screen|s|group|g|alias|a|batch|b|import)'

ROWS = [
    ("Ingest", [
        ("Tracking messages accepted /s", "sum by (job) (rate(engage_tracking_messages_accepted_total[$__rate_interval]))", "ops"),
        ("Tracking calls refused /s, by status", f'sum by (status) (rate(engage_http_requests_total{{route=~"{TRACKING}",status=~"4.."}}[$__rate_interval]))', "reqps"),
        ("Tracking calls answered 5xx", f'sum by (job) (rate(engage_http_requests_total{{route=~"{TRACKING}",status=~"5.."}}[$__rate_interval])) / sum by (job) (rate(engage_http_requests_total{{route=~"{TRACKING}"}}[$__rate_interval]))', "percentunit"),
        ("Profiles: messages stored, duplicates, merges /s", "sum(rate(engage_profiles_messages_stored_total[$__rate_interval]))", "ops"),
    ]),
    ("Pipeline", [
        ("Consumer lag by group (records)", "sum by (group) (engage_consumer_lag)", "short"),
        ("Records processed /s by group", "sum by (group) (rate(engage_consumer_records_processed_total[$__rate_interval]))", "ops"),
        ("Wait in front of consumers (fetch + queue), p99 by group", "histogram_quantile(0.99, sum by (group, le) (rate(engage_consumer_record_wait_seconds_bucket[$__rate_interval])))", "s"),
        ("Dead-lettered records (increase over 10m) by group", "sum by (group) (increase(engage_consumer_records_dead_lettered_total[10m]))", "short"),
        ("Outbox: oldest unpublished row (s)", "max by (job) (engage_outbox_oldest_unpublished_seconds)", "s"),
        ("Outbox: published /s", "sum by (job) (rate(engage_outbox_published_total[$__rate_interval]))", "ops"),
        ("Event to audience membership, p99", "histogram_quantile(0.99, sum by (le) (rate(engage_audiences_event_to_membership_seconds_bucket[$__rate_interval])))", "s"),
    ]),
    ("Messaging and journeys", [
        ("Sends by outcome /s", "sum(rate(engage_messages_sent_total[$__rate_interval]))", "ops"),
        ("Send failures and unknown outcomes /s", "sum(rate(engage_messages_failed_total[$__rate_interval])) + sum(rate(engage_messages_unknown_total[$__rate_interval]))", "ops"),
        ("Provider call duration, p99", "histogram_quantile(0.99, sum by (le) (rate(engage_provider_call_seconds_bucket[$__rate_interval])))", "s"),
        ("Request to provider call, p99", "histogram_quantile(0.99, sum by (le) (rate(engage_message_request_to_provider_seconds_bucket[$__rate_interval])))", "s"),
        ("Journey timer lateness, p99", "histogram_quantile(0.99, sum by (le) (rate(engage_journey_timer_lateness_seconds_bucket[$__rate_interval])))", "s"),
        ("Journey paths advanced /s", "sum(rate(engage_journey_paths_advanced_total[$__rate_interval]))", "ops"),
    ]),
    ("Events source", [
        ("Engage events published /s", "sum(rate(engage_events_source_events_published_total[$__rate_interval]))", "ops"),
        ("Webhook deliveries /s by outcome", "sum by (outcome) (rate(engage_events_source_webhook_deliveries_total[$__rate_interval]))", "ops"),
        ("Webhook destinations paused (increase over 1h)", "sum(increase(engage_webhook_destination_pauses_total[1h]))", "short"),
        ("Webhook call duration, p99", "histogram_quantile(0.99, sum by (le) (rate(engage_events_source_webhook_call_seconds_bucket[$__rate_interval])))", "s"),
    ]),
    ("HTTP (RED) and processes", [
        ("Requests /s by service and status", "sum by (job, status) (rate(engage_http_requests_total[$__rate_interval]))", "reqps"),
        ("5xx share by service", 'sum by (job) (rate(engage_http_requests_total{status=~"5.."}[$__rate_interval])) / sum by (job) (rate(engage_http_requests_total[$__rate_interval]))', "percentunit"),
        ("Request duration p99 by route", "histogram_quantile(0.99, sum by (le, job, route) (rate(engage_http_request_duration_seconds_bucket[$__rate_interval])))", "s"),
        ("CPU by instance", "sum by (job, instance) (rate(engage_process_cpu_seconds_total[$__rate_interval]))", "percentunit"),
        ("Resident memory by instance", "sum by (job, instance) (engage_process_resident_memory_bytes)", "bytes"),
        ("Open file descriptors (share of the limit)", "max by (job, instance) (engage_process_open_fds / engage_process_max_fds)", "percentunit"),
    ]),
]

# Panels whose first query alone would hide a series: the extra queries shown with them.
EXTRA = {
    "Profiles: messages stored, duplicates, merges /s": [
        "sum(rate(engage_profiles_messages_duplicate_total[$__rate_interval]))",
        "sum(rate(engage_profiles_merges_total[$__rate_interval]))",
    ],
    "Sends by outcome /s": [
        "sum(rate(engage_messages_failed_total[$__rate_interval]))",
        "sum(rate(engage_messages_skipped_total[$__rate_interval]))",
        "sum(rate(engage_messages_retried_total[$__rate_interval]))",
    ],
}


def dashboard():
    panels, y, panel_id = [], 0, 1
    for title, row in ROWS:
        panels.append({"type": "row", "title": title, "id": panel_id, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        panel_id += 1
        y += 1
        for index, (name, expr, unit) in enumerate(row):
            exprs = [expr.strip()] + EXTRA.get(name, [])
            panels.append({
                "type": "timeseries", "title": name, "id": panel_id,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 8, "x": (index % 3) * 8, "y": y + (index // 3) * 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
                "targets": [{"refId": chr(65 + i), "expr": e, "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                            for i, e in enumerate(exprs)],
            })
            panel_id += 1
        y += ((len(row) + 2) // 3) * 8
    return {
        "title": "swift-engage",
        "uid": "swift-engage",
        "tags": ["swift-engage"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]},
        "annotations": {"list": []},
        "panels": panels,
    }


def text():
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "grafana-dashboard.json"), "w") as handle:
        handle.write(text())
