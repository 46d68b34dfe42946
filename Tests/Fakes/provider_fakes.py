"""Local fakes of SendGrid's v3 mail API and Twilio's Messages API for tests, benchmarks and the
local sandbox. They check requests as strictly as the real APIs (paths, auth, content types,
required fields, limits, encodings; see docs/messaging.md and the providers' references), answer
in the real shapes (202 + X-Message-Id; 201 + message JSON; the real error bodies; 429 with the
rate headers), and can send signed callbacks (SendGrid Signed Event Webhook, X-Twilio-Signature).

Run: python3 provider_fakes.py --port 0 [--port-file PATH]   (prints the port)
Control (tests and the sandbox, under /_fake): GET requests, GET count, POST reset (each takes
?kind=sendgrid|twilio and ?space_id=...), POST script, POST config, POST twilio-callback,
POST twilio-inbound, POST sendgrid-events, POST sendgrid-event. docs/sandbox.md shows them with curl.

Each recorded request names the space it was sent for (`space_id`): SendGrid's from the
`engage_space_id` custom arg, Twilio's from the StatusCallback URL (`/webhooks/twilio/{space}/status`),
both of which messaging-send puts on every send. The credentials below are shared by every space.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Credentials the fakes accept. Tests configure providers with these.
SENDGRID_KEYS = {"SG.fake-key-1"}
TWILIO_ACCOUNT = "AC" + "1" * 32
TWILIO_API_KEY = "SK" + "2" * 32
TWILIO_API_SECRET = "fake-api-key-secret"
TWILIO_AUTH_TOKEN = "fake-auth-token"

FORBIDDEN_HEADERS = {h.lower() for h in ["x-sg-id", "x-sg-eid", "received", "dkim-signature", "Content-Type",
                                         "Content-Transfer-Encoding", "To", "From", "Subject", "Reply-To", "CC", "BCC"]}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class State:
    def __init__(self):
        self.reset()

    def reset(self):
        self.requests = []          # every provider request, accepted or not: {kind, status, body, ...}
        self.scripts = {}           # recipient -> list of scripted answers (status codes or {"status", "delay", "retry_after"})
        self.callbacks = {}         # twilio sid -> status callback URL
        # record_bodies false (benchmarks): requests are remembered without their bodies and headers.
        self.config = {"twilio_auto_status": [], "sendgrid_event_url": None, "sendgrid_private_key": None,
                       "sendgrid_auto_events": [], "record_bodies": True}
        self.pending = set()


STATE = State()


def sendgrid_error(status, message, field=None, headers=None):
    return status, {"errors": [{"message": message, "field": field, "help": None}]}, headers or {}


def twilio_error(status, code, message):
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}, {}


def remember(record):
    """Appends the request's record; the caller keeps filling in the same dict."""
    if not STATE.config["record_bodies"]:
        record = {k: v for k, v in record.items() if k not in ("body", "form", "headers")}
    STATE.requests.append(record)
    return record


def sendgrid_args(body):
    """The custom args of a mail/send body (top level, then the first personalization's), {} if malformed."""
    try:
        args = {**(body.get("custom_args") or {}), **(body["personalizations"][0].get("custom_args") or {})}
    except (AttributeError, KeyError, IndexError, TypeError):
        return {}
    return {k: v for k, v in args.items() if isinstance(v, str)}


def twilio_callback_ids(callback):
    """(space id, engage message id) from a StatusCallback `.../webhooks/twilio/{space}/status?message_id=...`."""
    url = urllib.parse.urlsplit(callback or "")
    match = re.search(r"/webhooks/twilio/([^/]+)/status$", url.path)
    message_id = urllib.parse.parse_qs(url.query).get("message_id", [None])[0]
    return (urllib.parse.unquote(match.group(1)) if match else None), message_id


def selected(query):
    """The recorded requests that ?kind= and ?space_id= (both optional) select."""
    kind, space = query.get("kind", [None])[0], query.get("space_id", [None])[0]
    return [r for r in STATE.requests if kind in (None, r["kind"]) and space in (None, r.get("space_id"))]


def scripted(recipient):
    queue = STATE.scripts.get(recipient)
    if queue:
        answer = queue.pop(0)
        return answer if isinstance(answer, dict) else {"status": answer}
    return None


# ---------------------------------------------------------------- SendGrid

def check_mail_send(body):
    """The v3 mail/send validation the fake enforces; returns an error tuple or None."""
    if not isinstance(body, dict):
        return sendgrid_error(400, "Bad Request", None)
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not (1 <= len(personalizations) <= 1000):
        return sendgrid_error(400, "The personalizations field is required and must have at least one personalization.", "personalizations")
    seen, total = set(), 0
    for i, p in enumerate(personalizations):
        to = p.get("to") if isinstance(p, dict) else None
        if not isinstance(to, list) or not to:
            return sendgrid_error(400, "The to array is required for all personalization objects, and must have at least one email object with a valid email address.", f"personalizations.{i}.to")
        for kind in ("to", "cc", "bcc"):
            for r in p.get(kind) or []:
                address = r.get("email") if isinstance(r, dict) else None
                if not isinstance(address, str) or not EMAIL.match(address):
                    return sendgrid_error(400, "Does not contain a valid address.", f"personalizations.{i}.{kind}")
                if address.lower() in seen:
                    return sendgrid_error(400, "Each email address in the personalization block should be unique between to, cc, and bcc.", f"personalizations.{i}.{kind}")
                seen.add(address.lower())
                total += 1
        args = p.get("custom_args")
        if args is not None and (not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values())):
            return sendgrid_error(400, "Custom args values must be strings.", f"personalizations.{i}.custom_args")
    if total > 1000:
        return sendgrid_error(400, "The total number of recipients must be no more than 1000.", "personalizations")
    sender = body.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("email"), str) or not EMAIL.match(sender["email"]):
        return sendgrid_error(400, "The from object must be provided for every email send. It is an object that requires an email parameter, but may also contain a name parameter.", "from.email")
    if "reply_to" in body and "reply_to_list" in body:
        return sendgrid_error(400, "reply_to and reply_to_list cannot be used together.", "reply_to")
    if not body.get("template_id"):
        if not isinstance(body.get("subject"), str) or not body["subject"].strip():
            if not all(isinstance(p, dict) and p.get("subject") for p in personalizations):
                return sendgrid_error(400, "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.", "subject")
        content = body.get("content")
        if not isinstance(content, list) or not content:
            return sendgrid_error(400, "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.", "content")
        types = []
        for i, c in enumerate(content):
            if not isinstance(c, dict) or not isinstance(c.get("type"), str) or not isinstance(c.get("value"), str) or not c["value"]:
                return sendgrid_error(400, "The content value must be a string at least one character in length.", f"content.{i}.value")
            types.append(c["type"])
        if "text/plain" in types and "text/html" in types and types.index("text/plain") > types.index("text/html"):
            return sendgrid_error(400, "If present, text/plain content must be first, followed by text/html content.", "content")
    args = body.get("custom_args")
    if args is not None:
        if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
            return sendgrid_error(400, "Custom args values must be strings.", "custom_args")
        if len(json.dumps(args).encode()) >= 10000:
            return sendgrid_error(400, "The custom_args must total less than 10,000 bytes.", "custom_args")
    categories = body.get("categories")
    if categories is not None:
        if not isinstance(categories, list) or len(categories) > 10 or len(set(categories)) != len(categories) \
                or any(not isinstance(c, str) or len(c) > 255 for c in categories):
            return sendgrid_error(400, "The categories parameter must be an array of at most 10 unique strings of at most 255 characters.", "categories")
    headers = body.get("headers")
    if headers is not None:
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            return sendgrid_error(400, "Invalid type. Expected: object, given: array.", "headers")
        for name in headers:
            if name.lower() in FORBIDDEN_HEADERS:
                return sendgrid_error(400, f"The header {name} is reserved and cannot be set.", "headers")
    asm = body.get("asm")
    if asm is not None and (not isinstance(asm, dict) or not isinstance(asm.get("group_id"), int)):
        return sendgrid_error(400, "The asm group_id must be an integer.", "asm.group_id")
    return None


def sendgrid(method, path, headers, raw):
    auth = headers.get("authorization", "")
    key = auth[7:] if auth.lower().startswith("bearer ") else None
    if key not in SENDGRID_KEYS:
        return sendgrid_error(401, "The provided authorization grant is invalid, expired, or revoked")
    if path == "/v3/scopes" and method == "GET":
        return 200, {"scopes": ["mail.send", "user.profile.read"]}, {}
    if path != "/v3/mail/send":
        return sendgrid_error(404, "not found")
    if method != "POST":
        return sendgrid_error(405, "method not allowed")
    if not headers.get("content-type", "").startswith("application/json"):
        return sendgrid_error(415, "Content-Type should be application/json.")
    try:
        body = json.loads(raw)
    except ValueError:
        return sendgrid_error(400, "Bad Request")
    problem = check_mail_send(body)
    recipient = body["personalizations"][0]["to"][0]["email"] if problem is None else None
    args = sendgrid_args(body)
    record = remember({"kind": "sendgrid", "at": time.time(), "body": body, "recipient": recipient, "headers": dict(headers),
                       "engage_message_id": args.get("engage_message_id"), "space_id": args.get("engage_space_id")})
    if problem:
        record["status"] = problem[0]
        return problem
    answer = scripted(recipient) or {"status": 202}
    record["status"] = answer["status"]
    if answer["status"] == 429:
        reset = int(time.time()) + int(answer.get("retry_after", 1))
        return sendgrid_error(429, "too many requests", headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    if answer["status"] >= 400:
        return sendgrid_error(answer["status"], answer.get("message", "internal error"))
    message_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")[:22]
    record["message_id"] = message_id
    for event in STATE.config["sendgrid_auto_events"]:
        schedule(send_sendgrid_events([sendgrid_event(event, recipient, message_id, args)]))
    return 202, None, {"X-Message-Id": message_id, "_delay": answer.get("delay", 0)}


def sendgrid_event(event, email, message_id, custom_args, **extra):
    return {"email": email, "timestamp": int(time.time()), "event": event, "smtp-id": f"<{message_id}@fake>",
            "sg_event_id": base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("="),
            "sg_message_id": f"{message_id}.filter0001.1.0", "category": ["engage"], **custom_args, **extra}


def sign_sendgrid(body: bytes, timestamp: str, private_key_pem: str) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


async def send_sendgrid_events(events):
    """Posts the events to `sendgrid_event_url`, signed when `sendgrid_private_key` is set. A URL with
    `{space_id}` gets each event's `engage_space_id` (one batch per space; events without one are not
    sent). Returns [{"url", "status"}] per batch posted."""
    url, pem = STATE.config["sendgrid_event_url"], STATE.config["sendgrid_private_key"]
    if not url:
        return []
    batches = {}
    for event in events:
        if "{space_id}" in url:
            space = event.get("engage_space_id") if isinstance(event, dict) else None
            if not isinstance(space, str) or not space:
                continue
            batches.setdefault(url.replace("{space_id}", urllib.parse.quote(space, safe="")), []).append(event)
        else:
            batches.setdefault(url, []).append(event)
    results = []
    for target, batch in batches.items():
        body = (json.dumps(batch) + "\r\n").encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json"}
        # Without a key the batch goes unsigned: messaging-send refuses it unless the space set allowUnsignedEvents.
        if pem:
            headers["X-Twilio-Email-Event-Webhook-Signature"] = sign_sendgrid(body, timestamp, pem)
            headers["X-Twilio-Email-Event-Webhook-Timestamp"] = timestamp
        status, _ = await post(target, body, headers)
        results.append({"url": target, "status": status})
    return results


async def send_sendgrid_event_for(body):
    """`/_fake/sendgrid-event`: one event about a send this fake accepted, found by its X-Message-Id or
    its engage_message_id, with the recipient and custom args SendGrid would echo."""
    wanted = body.get("message_id")
    if not wanted or not body.get("event"):
        return 400, {"error": "message_id and event are required"}, {}
    sends = [r for r in STATE.requests if r["kind"] == "sendgrid" and r.get("message_id")
             and wanted in (r["message_id"], r.get("engage_message_id"))]
    if not sends:
        return 404, {"error": f"no accepted SendGrid send with message id {wanted}"}, {}
    if not STATE.config["sendgrid_event_url"]:
        return 409, {"error": "set sendgrid_event_url first (POST /_fake/config)"}, {}
    send = sends[-1]
    args = {k: v for k, v in (("engage_message_id", send.get("engage_message_id")), ("engage_space_id", send.get("space_id"))) if v}
    extra = {k: v for k, v in body.items() if k not in ("message_id", "event")}
    event = sendgrid_event(body["event"], send["recipient"], send["message_id"], args, **extra)
    return 200, {"event": event, "posted": await send_sendgrid_events([event])}, {}


# ---------------------------------------------------------------- Twilio

def twilio_signature(url, params, token=TWILIO_AUTH_TOKEN):
    data = url
    grouped = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    for name in sorted(grouped):
        for value in sorted(grouped[name]):
            data += name + value
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio(method, path, headers, raw):
    auth = headers.get("authorization", "")
    user = password = None
    if auth.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            pass
    if (user, password) not in {(TWILIO_API_KEY, TWILIO_API_SECRET), (TWILIO_ACCOUNT, TWILIO_AUTH_TOKEN)}:
        return twilio_error(401, 20003, "Authenticate")
    match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+?)(\.json|/Messages\.json)", path)
    if not match:
        return twilio_error(404, 20404, "The requested resource was not found")
    account, rest = match.groups()
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", account) or account != TWILIO_ACCOUNT:
        return twilio_error(404, 20404, f"The requested resource /2010-04-01/Accounts/{account} was not found")
    if rest == ".json":
        if method != "GET":
            return twilio_error(405, 20004, "Method not allowed")
        return 200, {"sid": account, "friendly_name": "Fake account", "status": "active", "type": "Full"}, {}
    if method != "POST":
        return twilio_error(405, 20004, "Method not allowed")
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return twilio_error(415, 20415, "Unsupported Media Type: the body must be application/x-www-form-urlencoded")
    try:
        params = urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=bool(raw))
    except ValueError:
        return twilio_error(400, 20001, "The request body is not valid form encoding")
    form = {}
    for name, value in params:
        form.setdefault(name, []).append(value)
    one = lambda name: (form.get(name) or [None])[0]
    space_id, engage_message_id = twilio_callback_ids(one("StatusCallback"))
    record = remember({"kind": "twilio", "at": time.time(), "form": form, "recipient": one("To"), "headers": dict(headers),
                       "engage_message_id": engage_message_id, "space_id": space_id})

    def refuse(status, code, message):
        record["status"] = status
        return twilio_error(status, code, message)

    to, sender, service = one("To"), one("From"), one("MessagingServiceSid")
    if not to:
        return refuse(400, 21604, "A 'To' phone number is required.")
    whatsapp = to.startswith("whatsapp:")
    if not re.fullmatch(r"(whatsapp:)?\+[1-9][0-9]{6,14}", to):
        return refuse(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not sender and not service:
        return refuse(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
    if service and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service):
        return refuse(400, 21701, f"The Messaging Service Sid {service} is invalid.")
    if sender and whatsapp != sender.startswith("whatsapp:"):
        return refuse(400, 63007, "Twilio could not find a Channel with the specified From address")
    body, media, content = one("Body"), form.get("MediaUrl", []), one("ContentSid")
    if not body and not media and not content:
        return refuse(400, 21602, "Message body is required.")
    if body is not None and len(body) > 1600:
        return refuse(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(media) > 10:
        return refuse(400, 21623, "Too many media URLs; at most 10.")
    if content and not re.fullmatch(r"HX[0-9a-fA-F]{32}", content):
        return refuse(400, 21655, "The ContentSid is invalid.")
    variables = one("ContentVariables")
    if variables is not None:
        if not content:
            return refuse(400, 21656, "ContentVariables requires ContentSid.")
        try:
            json.loads(variables)
        except ValueError:
            return refuse(400, 21656, "The ContentVariables Parameter is invalid.")
    callback = one("StatusCallback")
    if callback:
        host = urllib.parse.urlparse(callback).hostname or ""
        if not callback.startswith(("http://", "https://")) or "_" in host:
            return refuse(400, 21609, "Invalid StatusCallback URL")
    answer = scripted(to) or {"status": 201}
    record["status"] = answer["status"]
    if answer["status"] == 429:
        record["status"] = 429
        status, payload, extra = twilio_error(429, 20429, "Too Many Requests")
        return status, payload, {"Retry-After": str(answer.get("retry_after", 1))}
    if answer["status"] >= 400:
        return twilio_error(answer["status"], answer.get("code", 20500), answer.get("message", "Internal Server Error"))
    sid = ("MM" if media else "SM") + secrets.token_hex(16)
    record["sid"] = sid
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    status = "accepted" if service else "queued"
    if callback:
        STATE.callbacks[sid] = {"url": callback, "to": to, "from": sender or "", "service": service}
        for follow in STATE.config["twilio_auto_status"]:
            schedule(send_twilio_status(sid, follow))
    return 201, {"sid": sid, "account_sid": account, "api_version": "2010-04-01", "body": body or "", "date_created": now,
                 "date_sent": None, "date_updated": now, "direction": "outbound-api", "error_code": None, "error_message": None,
                 "from": sender, "to": to, "messaging_service_sid": service, "num_media": str(len(media)), "num_segments": "1",
                 "price": None, "price_unit": "USD", "status": status,
                 "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                 "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"}}, {"_delay": answer.get("delay", 0)}


async def send_twilio_status(sid, status, error_code=None):
    target = STATE.callbacks.get(sid)
    if not target:
        return
    params = [("MessageSid", sid), ("SmsSid", sid), ("MessageStatus", status), ("SmsStatus", status), ("AccountSid", TWILIO_ACCOUNT),
              ("From", target["from"]), ("To", target["to"]), ("ApiVersion", "2010-04-01")]
    if target["service"]:
        params.append(("MessagingServiceSid", target["service"]))
    if error_code:
        params.append(("ErrorCode", str(error_code)))
    body = urllib.parse.urlencode(params).encode()
    await post(target["url"], body, {"Content-Type": "application/x-www-form-urlencoded",
                                     "X-Twilio-Signature": twilio_signature(target["url"], params)})


async def send_twilio_inbound(body):
    """`/_fake/twilio-inbound`: an incoming SMS/WhatsApp message, posted signed to `url` (the
    number's webhook: messaging-send's /webhooks/twilio/{space}/inbound). Returns the answer (TwiML)."""
    url, sender = body.get("url"), body.get("from")
    if not url or not sender:
        return 400, {"error": "url and from are required"}, {}
    sid = "SM" + secrets.token_hex(16)
    params = [("MessageSid", sid), ("SmsSid", sid), ("SmsMessageSid", sid), ("AccountSid", TWILIO_ACCOUNT),
              ("From", sender), ("To", body.get("to") or ""), ("Body", body.get("body") or ""), ("NumMedia", "0"),
              ("NumSegments", "1"), ("ApiVersion", "2010-04-01")]
    if body.get("opt_out_type"):
        params.append(("OptOutType", body["opt_out_type"]))
    status, answer = await post(url, urllib.parse.urlencode(params).encode(),
                                {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twilio_signature(url, params)})
    return 200, {"sid": sid, "status": status, "body": answer}, {}


# ---------------------------------------------------------------- plumbing

async def post(url, body, headers):
    """POSTs and returns (status, body text); (None, reason) when no answer came."""
    def call():
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:  # the receiver's answer is the test's business
            return error.code, error.read().decode(errors="replace")
        except Exception as error:
            return None, str(error)
    return await asyncio.get_running_loop().run_in_executor(None, call)


def schedule(coroutine):
    task = asyncio.get_running_loop().create_task(coroutine)
    STATE.pending.add(task)
    task.add_done_callback(STATE.pending.discard)


async def control(method, path, raw, query):
    if path == "/_fake/requests":
        return 200, selected(query), {}
    if path == "/_fake/count":
        return 200, {"count": len(selected(query))}, {}
    body = json.loads(raw or b"{}")
    if path == "/_fake/reset":
        if "kind" in query or "space_id" in query:
            # Only the selected records go; scripts and config stay (another space may rely on them).
            dropped = {id(r) for r in selected(query)}
            STATE.requests = [r for r in STATE.requests if id(r) not in dropped]
        else:
            STATE.reset()
        return 200, {}, {}
    if path == "/_fake/script":
        STATE.scripts.setdefault(body["recipient"], []).extend(body["answers"])
        return 200, {}, {}
    if path == "/_fake/config":
        STATE.config.update(body)
        return 200, STATE.config, {}
    if path == "/_fake/twilio-callback":
        schedule(send_twilio_status(body["sid"], body["status"], body.get("error_code")))
        return 200, {}, {}
    if path == "/_fake/twilio-inbound":
        return await send_twilio_inbound(body)
    if path == "/_fake/sendgrid-events":
        schedule(send_sendgrid_events(body["events"]))
        return 200, {}, {}
    if path == "/_fake/sendgrid-event":
        return await send_sendgrid_event_for(body)
    return 404, {"error": "unknown control path"}, {}


REASONS = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}


async def handle(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers = {}
            while True:
                header = await reader.readline()
                if header in (b"\r\n", b"\n", b""):
                    break
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
            url = urllib.parse.urlsplit(target)
            path, query = url.path, urllib.parse.parse_qs(url.query)
            if path.startswith("/_fake/"):
                status, payload, extra = await control(method, path, raw, query)
            elif path.startswith("/v3/"):
                status, payload, extra = sendgrid(method, path, headers, raw)
            elif path.startswith("/2010-04-01/"):
                status, payload, extra = twilio(method, path, headers, raw)
            else:
                status, payload, extra = 404, {"error": "not found"}, {}
            delay = extra.pop("_delay", 0)
            if delay:
                await asyncio.sleep(delay)
            data = b"" if payload is None else json.dumps(payload).encode()
            head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", f"Content-Length: {len(data)}"]
            if data:
                head.append("Content-Type: application/json")
            head += [f"{k}: {v}" for k, v in extra.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    server = await asyncio.start_server(handle, "127.0.0.1", args.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
