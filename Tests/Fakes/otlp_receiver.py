"""A local OTLP/HTTP trace receiver for tests: it takes what an OpenTelemetry Collector would on
`POST /v1/traces` with `Content-Type: application/json` (OTLP/HTTP JSON encoding), checks the
request as a collector does (path, method, content type, a JSON object with `resourceSpans`, every
span with a 16-byte trace id, an 8-byte span id, a name and times), answers like one
(200 `{"partialSuccess": {}}`; 400, 404, 405 or 415 otherwise), and keeps the spans for tests.

Run: python3 otlp_receiver.py --port 0 [--port-file PATH]
Read (tests): GET /_fake/spans?trace_id=HEX -> [{"service", "traceId", "spanId", "parentSpanId",
"name", "kind", "links": [{"traceId", "spanId"}], "attributes": {...}}]; GET /_fake/requests -> count.
"""
import argparse
import base64
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

HEX = re.compile(r"^[0-9a-f]+$")
MAX_SPANS = 200_000
spans = []
requests_seen = 0
lock = threading.Lock()


def identifier(value, size, what):
    """OTLP JSON carries ids as hex (the spec's rule); protobuf's JSON mapping would give base64. Both are read."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is missing")
    text = value.lower()
    if len(text) == size * 2 and HEX.match(text):
        return text
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise ValueError(f"{what} {value!r} is neither hex nor base64")
    if len(raw) != size:
        raise ValueError(f"{what} {value!r} is not {size} bytes")
    return raw.hex()


def attribute_map(attributes):
    result = {}
    for item in attributes or []:
        value = item.get("value", {})
        result[item.get("key")] = next(iter(value.values()), None) if value else None
    return result


def parse(body):
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("resourceSpans"), list):
        raise ValueError("the body must be an ExportTraceServiceRequest with resourceSpans")
    parsed = []
    for resource_spans in document["resourceSpans"]:
        service = attribute_map(resource_spans.get("resource", {}).get("attributes")).get("service.name")
        for scope in resource_spans.get("scopeSpans", []):
            for span in scope.get("spans", []):
                if not span.get("name"):
                    raise ValueError("a span has no name")
                for field in ("startTimeUnixNano", "endTimeUnixNano"):
                    if not str(span.get(field, "")).isdigit():
                        raise ValueError(f"span {span.get('name')}: {field} must be an integer")
                parent = span.get("parentSpanId") or ""
                parsed.append({
                    "service": service,
                    "traceId": identifier(span.get("traceId"), 16, "traceId"),
                    "spanId": identifier(span.get("spanId"), 8, "spanId"),
                    "parentSpanId": identifier(parent, 8, "parentSpanId") if parent else "",
                    "name": span["name"],
                    "kind": span.get("kind"),
                    "links": [{"traceId": identifier(link.get("traceId"), 16, "link traceId"),
                               "spanId": identifier(link.get("spanId"), 8, "link spanId")} for link in span.get("links", [])],
                    "attributes": attribute_map(span.get("attributes")),
                })
    return parsed


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global requests_seen
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if urlparse(self.path).path != "/v1/traces":
            return self.answer(404, {"code": 5, "message": f"no route {self.path}"})
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return self.answer(415, {"code": 3, "message": "this receiver takes application/json (OTLP/HTTP JSON)"})
        try:
            parsed = parse(body)
        except ValueError as error:
            return self.answer(400, {"code": 3, "message": str(error)})
        with lock:
            requests_seen += 1
            spans.extend(parsed)
            del spans[:max(0, len(spans) - MAX_SPANS)]
        self.answer(200, {"partialSuccess": {}})

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/_fake/spans":
            trace = (query.get("trace_id") or [""])[0].lower()
            with lock:
                found = [s for s in spans if not trace or s["traceId"] == trace or
                         any(link["traceId"] == trace for link in s["links"])]
            return self.answer(200, found)
        if url.path == "/_fake/requests":
            with lock:
                return self.answer(200, {"requests": requests_seen, "spans": len(spans)})
        if url.path == "/v1/traces":
            return self.answer(405, {"code": 12, "message": "POST only"})
        self.answer(404, {"code": 5, "message": f"no route {self.path}"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as handle:
            handle.write(str(port))
    print(port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
