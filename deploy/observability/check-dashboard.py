"""Checks grafana-dashboard.json: it is what make-dashboard.py writes, every query is valid PromQL
(each becomes a recording rule for `promtool check rules`), and every metric a query or an alert
names is one the services publish (Shared/ServiceKit/MetricHelp.swift lists them all)."""
import json
import os
import re
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("make_dashboard", os.path.join(here, "make-dashboard.py"))
make = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make)

problems = []
with open(os.path.join(here, "grafana-dashboard.json")) as handle:
    committed = handle.read()
if committed != make.text():
    problems.append("grafana-dashboard.json differs from what make-dashboard.py writes: run python3 make-dashboard.py")

with open(os.path.join(here, "..", "..", "Shared", "ServiceKit", "MetricHelp.swift")) as handle:
    known = set(re.findall(r'"(engage_[a-z0-9_]+)":', handle.read()))

dashboard = json.loads(committed)
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
with open(os.path.join(here, "alerts.yml")) as handle:
    alerts = handle.read()
for name in set(re.findall(r"engage_[a-z0-9_]+", " ".join(exprs) + alerts)):
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if base not in known:
        problems.append(f"{name}: no such metric (not in MetricHelp.swift)")

rules = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard:panel_{i}", "expr": e.replace("$__rate_interval", "5m")} for i, e in enumerate(exprs)]}]}
with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
    json.dump(rules, handle)  # JSON is YAML
promtool = os.environ.get("PROMTOOL") or os.path.join(here, "..", "..", ".dev", "tools", "promtool")
checked = subprocess.run([promtool, "check", "rules", handle.name], capture_output=True, text=True)
os.unlink(handle.name)
if checked.returncode != 0:
    problems.append("a dashboard query is not valid PromQL:\n" + checked.stdout + checked.stderr)

for problem in problems:
    print(problem)
print(f"dashboard: {len(exprs)} queries, {'problems' if problems else 'ok'}")
sys.exit(1 if problems else 0)
