#!/usr/bin/env python3
"""A local fake of Meta's Graph API (Messenger Send API and WhatsApp Cloud API) for switchboard tests.

It follows ../shared/protocols/meta.md sections (b) signatures, (d) sending, (f) errors and
(g) delivery: it validates and answers POST /<version>/<id>/messages like Graph, records every
request, and acts as Meta towards the daemon (signed webhooks on demand, status webhooks after
WhatsApp sends, echo webhooks after Messenger sends). The control API lives under /_fake/ and is
described in README.md. Standard library only, so it runs on a bare Debian 12 python3.

    python3 tests/fakes/graph_fake.py --port 0 --port-file FILE [--fixtures DIR]
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (not git-ignored)
from fake_http import (Answer, ControlError, FakeBase, Journal, check_keys, compact_json, control_json, http_post,
                       load_fixture, log, norm, parse_body, record_of, required, serve)

FIXTURE_SUBDIR = "meta"
SEND_PATH = re.compile(r"/(v\d+\.\d+)/([^/]+)/messages")
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
# meta.md (e): since 27 April 2026 these tags fail with code 100; HUMAN_AGENT is the one left.
DEPRECATED_TAGS = ("CONFIRMED_EVENT_UPDATE", "ACCOUNT_UPDATE", "POST_PURCHASE_UPDATE")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
NOTIFICATION_TYPES = ("REGULAR", "SILENT_PUSH", "NO_PUSH")
ATTACHMENT_TYPES = ("image", "video", "audio", "file", "template")
MESSENGER_TEXT_MAX = 2000
MESSENGER_METADATA_MAX = 1000
WHATSAPP_TEXT_MAX = 4096
WHATSAPP_TO = re.compile(r"\+[0-9]{6,15}")
BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")

REQUEST_FILTERS = ("id", "recipient", "method", "path")
WEBHOOK_FILTERS = ("id", "message_id", "kind", "event")


def graph_error(message, code=100, status=400, subcode=None):
    """meta.md (f) error shape."""
    error = {"message": f"(#{code}) {message}", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = fbtrace_id()
    return Answer(status, {"error": error})


def fbtrace_id():
    return "A" + base64.b64encode(secrets.token_bytes(9)).decode().replace("+", "x").replace("/", "y")[:10]


def meta_json(value, escape):
    """Serialises a webhook body as Meta does: "meta" escapes non-ASCII as \\uXXXX (lowercase hex,
    surrogate pairs beyond the BMP) and '/' as '\\/'; "unicode" only the former (the WhatsApp
    fixtures keep '/'); "none" writes raw UTF-8."""
    if escape == "none":
        return compact_json(value)
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    # '/' occurs only inside JSON strings, so a plain replace is a faithful re-encoding.
    return (text.replace("/", "\\/") if escape == "meta" else text).encode("ascii")


def meta_headers(app_secret, payload, signature=None, omit_signature=False, legacy=True, extra=None):
    """meta.md (b): X-Hub-Signature-256 = sha256=<hex HMAC-SHA256(app secret, raw body)>.
    The legacy SHA-1 header is sent too, because Meta may send it and it must not be trusted."""
    key = app_secret.encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    if not omit_signature:
        headers["X-Hub-Signature-256"] = signature or "sha256=" + hmac.new(key, payload, hashlib.sha256).hexdigest()
    if legacy:
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(key, payload, hashlib.sha1).hexdigest()
    headers.update(extra or {})
    return headers


class Invalid(Exception):
    """A send Graph refuses with code 100 (invalid parameter); the message says what is wrong."""


def require(condition, message):
    if not condition:
        raise Invalid(message)


def nonempty_string(value):
    return isinstance(value, str) and value != ""


def check_messenger(body):
    """meta.md (d) Messenger Send API; returns "action" for a sender_action, else "message"."""
    recipient = body.get("recipient")
    require(isinstance(recipient, dict) and nonempty_string(recipient.get("id")),
            "param recipient[id] must be a non-empty string (the PSID)")
    if "sender_action" in body:
        require(body["sender_action"] in SENDER_ACTIONS,
                f"param sender_action must be one of {', '.join(SENDER_ACTIONS)}")
        require("message" not in body, "sender_action must be sent without message")
        return "action"
    messaging_type = body.get("messaging_type")
    require(messaging_type in MESSAGING_TYPES,
            f"param messaging_type must be one of {', '.join(MESSAGING_TYPES)} (got {messaging_type!r})")
    tag = body.get("tag")
    if messaging_type == "MESSAGE_TAG":
        require(tag is not None, "param tag is required when messaging_type is MESSAGE_TAG")
        require(tag not in DEPRECATED_TAGS, f"message tag {tag} is deprecated; use HUMAN_AGENT")
        require(tag == "HUMAN_AGENT", f"param tag {tag!r} is not supported; the only valid tag is HUMAN_AGENT")
    else:
        require(tag is None, f"param tag is only allowed with messaging_type MESSAGE_TAG (got {messaging_type})")
    require(body.get("notification_type", "REGULAR") in NOTIFICATION_TYPES,
            f"param notification_type must be one of {', '.join(NOTIFICATION_TYPES)}")
    message = body.get("message")
    require(isinstance(message, dict), "param message must be an object")
    text, attachment = message.get("text"), message.get("attachment")
    require((text is None) != (attachment is None), "param message must have exactly one of text or attachment")
    if text is not None:
        require(nonempty_string(text), "param message[text] must be a non-empty string")
        require(len(text) <= MESSENGER_TEXT_MAX,
                f"param message[text] has {len(text)} characters; the limit is {MESSENGER_TEXT_MAX}")
    else:
        require(isinstance(attachment, dict) and attachment.get("type") in ATTACHMENT_TYPES
                and isinstance(attachment.get("payload"), dict),
                f"param message[attachment] needs type ({', '.join(ATTACHMENT_TYPES)}) and a payload object")
    metadata = message.get("metadata")
    if metadata is not None:
        require(isinstance(metadata, str) and len(metadata) <= MESSENGER_METADATA_MAX,
                f"param message[metadata] must be a string of at most {MESSENGER_METADATA_MAX} characters")
    return "message"


def check_whatsapp(body):
    """meta.md (d) WhatsApp Cloud API; returns "read", "text" or "template"."""
    require(body.get("messaging_product") == "whatsapp", 'param messaging_product must be "whatsapp"')
    if body.get("status") == "read":
        require(nonempty_string(body.get("message_id")), "param message_id is required to mark a message read")
        return "read"
    require(("to" in body) != ("recipient" in body), "exactly one of to or recipient is required")
    if "to" in body:
        require(isinstance(body["to"], str) and WHATSAPP_TO.fullmatch(body["to"]),
                f"param to must be '+', the country code and digits only (got {body['to']!r})")
    else:
        require(isinstance(body["recipient"], str) and BSUID.fullmatch(body["recipient"]),
                f"param recipient must be a business-scoped user ID like PL.123 (got {body['recipient']!r})")
    require(body.get("recipient_type", "individual") == "individual", 'param recipient_type must be "individual"')
    kind = body.get("type")
    if kind == "text":
        text = body.get("text")
        require(isinstance(text, dict) and nonempty_string(text.get("body")),
                "param text[body] must be a non-empty string")
        require(len(text["body"]) <= WHATSAPP_TEXT_MAX,
                f"param text[body] has {len(text['body'])} characters; the limit is {WHATSAPP_TEXT_MAX}")
        require(isinstance(text.get("preview_url", False), bool), "param text[preview_url] must be a boolean")
    elif kind == "template":
        template = body.get("template")
        require(isinstance(template, dict) and nonempty_string(template.get("name")),
                "param template[name] must be a non-empty string")
        language = template.get("language")
        require(isinstance(language, dict) and nonempty_string(language.get("code")),
                "param template[language][code] must be a non-empty string")
        require(isinstance(template.get("components", []), list), "param template[components] must be an array")
    else:
        require(False, f"param type must be text or template (the fake supports no other; got {kind!r})")
    context = body.get("context")
    if context is not None:
        require(isinstance(context, dict) and nonempty_string(context.get("message_id")),
                "param context[message_id] must be a non-empty string")
    require(isinstance(body.get("biz_opaque_callback_data", ""), str),
            "param biz_opaque_callback_data must be a string")
    return kind


def recipient_of(body):
    """The recipient a send targets (PSID, "to" or BSUID): the "recipient" match/filter key."""
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("recipient"), dict):
        return str(body["recipient"].get("id", ""))
    return str(body.get("to") or body.get("recipient") or "")


def now_ms():
    return int(time.time() * 1000)


def new_wamid():
    # Real wamids are base64 of a binary blob; the fake keeps the shape, with fresh random bytes.
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + secrets.token_bytes(24)).decode()


class GraphFake(FakeBase):
    def __init__(self):
        self.fixtures = None  # set by serve() from --fixtures
        self.journal = Journal()
        self.lock = threading.Lock()
        self.clear_config()

    def clear_config(self, object_id=None):
        with self.lock:
            if object_id is None:
                self.accounts, self.closed, self.status_hooks, self.echo_hooks = {}, {}, {}, {}
                return
            for table in (self.accounts, self.status_hooks, self.echo_hooks):
                table.pop(object_id, None)
            self.closed = {k: v for k, v in self.closed.items() if k[0] != object_id}

    def fixture(self, name):
        return load_fixture(self.fixtures, FIXTURE_SUBDIR, name)

    # -- control API ---------------------------------------------------------------------------

    def control(self, request):
        routes = {
            ("GET", "/_fake/health"): lambda _: {"ok": True, "fake": "graph"},
            ("POST", "/_fake/reset"): self.reset,
            ("GET", "/_fake/requests"): lambda r: {"requests": self.filtered("requests", r, REQUEST_FILTERS)},
            ("GET", "/_fake/webhooks"): lambda r: {"webhooks": self.filtered("sent", r, WEBHOOK_FILTERS)},
            ("POST", "/_fake/fail"): self.fail,
            ("POST", "/_fake/tokens"): self.register_token,
            ("POST", "/_fake/window"): self.set_window,
            ("POST", "/_fake/webhook"): self.send_webhook,
            ("POST", "/_fake/statuses"): self.set_statuses,
            ("POST", "/_fake/echoes"): self.set_echoes,
        }
        return self.dispatch(routes, request)

    def reset(self, request):
        spec = control_json(request)
        check_keys(spec, ("id",), "reset")
        self.journal.clear({"id": spec["id"]} if "id" in spec else None)
        self.clear_config(spec.get("id"))
        return {"ok": True}

    def fail(self, request):
        return self.journal.add_failure(control_json(request), ("id", "recipient"),
                                        self.fixture)

    def register_token(self, request):
        spec = control_json(request)
        check_keys(spec, ("id", "token", "kind"), "tokens")
        kind = spec.get("kind")
        if kind not in ("page", "whatsapp"):
            raise ControlError('kind must be "page" (Messenger) or "whatsapp" (phone_number_id)')
        with self.lock:
            self.accounts[required(spec, "id")] = {"kind": kind, "token": required(spec, "token")}
        return {"ok": True}

    def set_window(self, request):
        spec = control_json(request)
        check_keys(spec, ("id", "recipient", "open", "human_agent"), "window")
        key = (required(spec, "id"), norm(required(spec, "recipient")))
        with self.lock:
            if spec.get("open", True):
                self.closed.pop(key, None)
            else:
                # human_agent false: past the 7-day HUMAN_AGENT limit, nothing free-form goes out.
                self.closed[key] = {"human_agent": bool(spec.get("human_agent", True))}
        return {"ok": True}

    def set_statuses(self, request):
        spec = control_json(request)
        check_keys(spec, ("id", "url", "app_secret", "sequence", "error", "interval_ms", "retries",
                          "retry_interval_ms", "waba_id", "display_phone_number", "escape"), "statuses")
        sequence = spec.get("sequence", ["sent", "delivered", "read"])
        if not isinstance(sequence, list) or not all(s in ("sent", "delivered", "read", "failed") for s in sequence):
            raise ControlError("sequence must list sent|delivered|read|failed")
        hook = self.hook_spec(spec)
        hook.update(sequence=sequence, error=spec.get("error"),
                    waba_id=str(spec.get("waba_id", "102290129340398")),
                    display_phone_number=str(spec.get("display_phone_number", "48221234567")),
                    escape=spec.get("escape", "unicode"))
        with self.lock:
            self.status_hooks[hook["id"]] = hook
        return {"ok": True}

    def set_echoes(self, request):
        spec = control_json(request)
        check_keys(spec, ("id", "url", "app_secret", "app_id", "interval_ms", "retries",
                          "retry_interval_ms", "escape"), "echoes")
        hook = self.hook_spec(spec)
        app_id = str(required(spec, "app_id", (str, int)))
        # Meta sends app_id as a JSON number (fixture messenger_echo.json).
        hook.update(app_id=int(app_id) if app_id.isdigit() else app_id, escape=spec.get("escape", "meta"))
        with self.lock:
            self.echo_hooks[hook["id"]] = hook
        return {"ok": True}

    def hook_spec(self, spec):
        return {"id": required(spec, "id"), "url": required(spec, "url"), "app_secret": required(spec, "app_secret"),
                "interval_ms": int(spec.get("interval_ms", 0)), "retries": int(spec.get("retries", 0)),
                "retry_interval_ms": int(spec.get("retry_interval_ms", 200))}

    def send_webhook(self, request):
        """Acts as Meta: signs the exact bytes and posts them; answers with the receiver's reply."""
        spec = control_json(request)
        check_keys(spec, ("url", "app_secret", "body", "fixture", "json", "escape", "signature",
                          "omit_signature", "legacy_signature", "headers", "id", "timeout_ms"), "webhook")
        sources = [k for k in ("body", "fixture", "json") if k in spec]
        if len(sources) != 1:
            raise ControlError("give exactly one of body (raw string), fixture (file name) or json (value)")
        if "body" in spec:
            payload = required(spec, "body").encode("utf-8")
        elif "fixture" in spec:
            payload = self.fixture(spec["fixture"])
        else:
            escape = spec.get("escape", "meta")
            if escape not in ("meta", "unicode", "none"):
                raise ControlError("escape must be meta, unicode or none")
            payload = meta_json(spec["json"], escape)
        headers = meta_headers(required(spec, "app_secret"), payload, spec.get("signature"),
                               bool(spec.get("omit_signature")), spec.get("legacy_signature", True),
                               spec.get("headers"))
        result = http_post(required(spec, "url"), payload, headers, spec.get("timeout_ms", 10000) / 1000)
        entry = {"kind": "manual", "id": str(spec.get("id", "")), "message_id": "", "event": "",
                 "url": spec["url"], "payload": payload.decode("utf-8", "replace"),
                 "signature": headers.get("X-Hub-Signature-256", ""), "attempt": 1, **result}
        self.journal.add_sent(entry)
        log(f"webhook -> {spec['url']}: {result['status']}")
        return {**result, "signature": entry["signature"]}

    # -- Graph API -----------------------------------------------------------------------------

    def api(self, request):
        route = SEND_PATH.fullmatch(request["path"])
        view = parse_body(request)
        keys = {"id": route.group(2) if route else "", "recipient": recipient_of(view.get("json"))}
        entry = self.journal.add_request({**record_of(request, view), **keys})
        answer = self.answer(request, route, view, keys)
        entry["response"] = {"status": answer.status, "body": answer.payload.decode("utf-8", "replace")}
        return answer

    def answer(self, request, route, view, keys):
        rule = self.journal.take_failure(keys)
        if rule:
            time.sleep(rule["delay_ms"] / 1000)
            if rule["status"] is not None:
                kind = "text/plain; charset=utf-8" if rule.get("text") else "application/json"
                return Answer(int(rule["status"]), rule["payload"], kind)
        if route is None:
            return graph_error(f"fake: unknown path {request['path']}; only POST /vX.Y/<id>/messages exists", status=404)
        if request["method"] != "POST":
            return graph_error(f"Unsupported {request['method'].lower()} request on /messages")
        object_id, account = self.authenticate(request, route.group(2))
        if account is None:
            return object_id  # an error Answer
        content_type = request["headers"].get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return graph_error(f"Content-Type must be application/json (got {content_type or 'none'!r})")
        body = view.get("json")
        if not isinstance(body, dict):
            return graph_error("the request body must be a JSON object")
        try:
            if account["kind"] == "page":
                return self.messenger_send(object_id, body)
            return self.whatsapp_send(object_id, body)
        except Invalid as e:
            return graph_error(str(e))

    def authenticate(self, request, object_id):
        """Returns (id, account), or (error Answer, None). Bearer header; Messenger also access_token."""
        header = request["headers"].get("authorization", "")
        bearer = header[7:].strip() if header[:7].lower() == "bearer " else ""
        query_token = request["query"].get("access_token", "")
        with self.lock:
            if object_id == "me":  # /me/messages with a Page token resolves to that Page
                object_id = next((i for i, a in self.accounts.items() if a["kind"] == "page"
                                  and a["token"] in (bearer, query_token)), "me")
            account = self.accounts.get(object_id)
        if account is None and object_id != "me":
            return graph_error(f"fake: object {object_id} is not registered (POST /_fake/tokens)", subcode=33), None
        token = bearer or (query_token if account and account["kind"] == "page" else "")
        if account is None or not token or not hmac.compare_digest(token.encode(), account["token"].encode()):
            return Answer(401, self.fixture("graph_error_invalid_token.json")), None
        return object_id, account

    def window(self, object_id, recipient):
        with self.lock:
            return self.closed.get((object_id, norm(recipient)))

    def messenger_send(self, page_id, body):
        if check_messenger(body) == "action":
            return Answer(200, {"recipient_id": body["recipient"]["id"]})
        psid = body["recipient"]["id"]
        closed = self.window(page_id, psid)
        human_agent = body.get("tag") == "HUMAN_AGENT"
        if closed and (not human_agent or not closed["human_agent"]):
            return Answer(400, self.fixture("graph_error_messenger_outside_window.json"))
        mid = "m_" + secrets.token_urlsafe(24)
        with self.lock:
            hook = self.echo_hooks.get(page_id)
        after = (lambda: self.post_echo(hook, page_id, psid, mid, body["message"])) if hook else None
        return Answer(200, {"recipient_id": psid, "message_id": mid}, after=after)

    def whatsapp_send(self, phone_id, body):
        kind = check_whatsapp(body)
        if kind == "read":
            return Answer(200, {"success": True})
        target = body.get("to") or body["recipient"]
        closed = self.window(phone_id, target)
        if closed and kind != "template":
            return Answer(400, self.fixture("graph_error_whatsapp_reengagement.json"))
        wamid = new_wamid()
        contact = ({"input": body["to"], "wa_id": body["to"].lstrip("+")} if "to" in body
                   else {"input": body["recipient"], "user_id": body["recipient"]})
        with self.lock:
            hook = self.status_hooks.get(phone_id)
        after = (lambda: self.post_statuses(hook, phone_id, body, kind, wamid)) if hook else None
        return Answer(200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]},
                      after=after)

    # -- webhooks the fake sends as Meta -------------------------------------------------------

    def deliver(self, hook, kind, message_id, event, value):
        """Posts one signed webhook, retrying non-2xx like Meta (hook["retries"] more times)."""
        time.sleep(hook["interval_ms"] / 1000)
        payload = meta_json(value, hook["escape"])
        headers = meta_headers(hook["app_secret"], payload)
        for attempt in range(1, hook["retries"] + 2):
            result = http_post(hook["url"], payload, headers, 10)
            self.journal.add_sent({"kind": kind, "id": hook["id"], "message_id": message_id, "event": event,
                                   "url": hook["url"], "payload": payload.decode("utf-8", "replace"),
                                   "signature": headers["X-Hub-Signature-256"], "attempt": attempt, **result})
            label = kind if event == kind else f"{kind} {event}"
            log(f"{label} {message_id} -> {hook['url']}: {result['status']} (attempt {attempt})")
            if 200 <= result["status"] < 300:
                return
            time.sleep(hook["retry_interval_ms"] / 1000)

    def post_statuses(self, hook, phone_id, body, kind, wamid):
        for event in hook["sequence"]:
            status = {"id": wamid, "status": event, "timestamp": str(int(time.time()))}
            if "to" in body:
                status["recipient_id"] = body["to"].lstrip("+")
            else:
                status["recipient_user_id"] = body["recipient"]
            if "biz_opaque_callback_data" in body:
                status["biz_opaque_callback_data"] = body["biz_opaque_callback_data"]
            if event == "failed":
                status["errors"] = [status_error(hook["error"])]
            elif event != "read":
                status["pricing"] = pricing(kind)
            value = {"messaging_product": "whatsapp",
                     "metadata": {"display_phone_number": hook["display_phone_number"], "phone_number_id": phone_id},
                     "statuses": [status]}
            webhook = {"object": "whatsapp_business_account",
                       "entry": [{"id": hook["waba_id"], "changes": [{"value": value, "field": "messages"}]}]}
            self.deliver(hook, "status", wamid, event, webhook)

    def post_echo(self, hook, page_id, psid, mid, message):
        echo = {"is_echo": True, "app_id": hook["app_id"]}
        if "metadata" in message:
            echo["metadata"] = message["metadata"]
        echo["mid"] = mid
        if "text" in message:
            echo["text"] = message["text"]
        else:
            attachment = message["attachment"]
            echo["attachments"] = [{"type": attachment["type"], "payload": attachment.get("payload", {})}]
        at = now_ms()
        webhook = {"object": "page", "entry": [{"id": page_id, "time": at, "messaging": [
            {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": at, "message": echo}]}]}
        self.deliver(hook, "echo", mid, "echo", webhook)


def status_error(error):
    """errors[] element of a failed status (shape of whatsapp_status_failed.json)."""
    error = dict(error or {"code": 131026, "title": "Message undeliverable"})
    title = error.get("title", "Message failed")
    out = {"code": int(error.get("code", 131000)), "title": title, "message": error.get("message", title),
           "error_data": error.get("error_data", {"details": error.get("details", title)}),
           "href": error.get("href", "/documentation/business-messaging/whatsapp/support/error-codes")}
    return out


def pricing(kind):
    if kind == "template":
        return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}


if __name__ == "__main__":
    serve(GraphFake(), "graph_fake", sys.argv[1:])
