#!/usr/bin/env python3
"""Signed webhook requests for tests/bench/webhooks (wrk's Lua has no HMAC).

  webhooks_gen.py generate --kind meta|twilio --count N --threads T --out PREFIX ...
      writes PREFIX.1 .. PREFIX.T, one request a line: "<signature header>\\t<raw body>"; every
      request is a new message (its own wamid or MessageSid), the threads' files are disjoint.
  webhooks_gen.py warm --kind api|meta|twilio --port P ...
      posts one message from each sender (a separate id range) and checks every answer is 200,
      so that the measured messages take the steady-state path (known sender, open conversation).

Senders: api bench<i>@example.pl (as tests/bench/inbound.lua), WhatsApp +48601<i:06d>, SMS
+48602<i:06d>: three disjoint sets of customers (a WhatsApp and an SMS number are one identity).
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import sys
import time
import urllib.parse

TWILIO_PATH = "/webhooks/twilio/sms?account=bench"


def meta_request(secret, sender, wamid, n, now):
    """A WhatsApp text message in Meta's whatsapp_business_account shape, signed over its bytes."""
    phone = f"48601{sender:06d}"
    user_id = f"PL.{13491208655300000000 + sender}"
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "48221234567", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": f"Klient Wiśniewska {sender}"}, "wa_id": phone,
                                  "user_id": user_id}],
                    "messages": [{"from": phone, "from_user_id": user_id, "id": wamid, "timestamp": str(now),
                                  "type": "text",
                                  "text": {"body": f"Dzień dobry, gdzie jest moja paczka? Zamówienie {n}"}}],
                },
                "field": "messages",
            }],
        }],
    }
    # Meta's bodies: compact JSON, non-ASCII escaped as \uXXXX. The signature covers these bytes.
    body = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    sig = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return sig, body


def twilio_request(token, public_url, account_sid, service_sid, sender, sid, n):
    """An inbound SMS form as Twilio posts it (fixtures/twilio/inbound_sms.form), signed."""
    params = [
        ("ToCountry", "PL"), ("ToState", ""), ("SmsMessageSid", sid), ("NumMedia", "0"), ("ToCity", ""),
        ("FromZip", ""), ("SmsSid", sid), ("FromState", ""), ("SmsStatus", "received"), ("FromCity", ""),
        ("Body", f"Dzień dobry! Czy paczka już wysłana? Zamówienie {n}"), ("FromCountry", "PL"),
        ("To", "+48732123456"), ("MessagingServiceSid", service_sid), ("ToZip", ""), ("NumSegments", "1"),
        ("MessageSid", sid), ("AccountSid", account_sid), ("From", f"+48602{sender:06d}"),
        ("ApiVersion", "2010-04-01"),
    ]
    body = urllib.parse.urlencode(params)  # quote_plus: ' ' -> '+', '+' -> %2B, UTF-8 percent-encoded
    signed = public_url + TWILIO_PATH + "".join(k + v for k, v in sorted(params))
    sig = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    return sig, body


def make(a, sender, run, t, i):
    """Request i of thread t (t = 0 for the warm-up)."""
    if a.kind == "meta":
        return meta_request(a.secret, sender, f"wamid.{run}-{t}-{i:07d}", i, int(time.time()))
    # "SM" + 32 hex: 8 for the thread (0 = warm-up), 24 for the counter.
    return twilio_request(a.secret, a.public_url, a.account_sid, a.service_sid, sender, f"SM{t:08x}{i:024x}", i)


def generate(a):
    per_thread = -(-a.count // a.threads)
    for t in range(1, a.threads + 1):
        with open(f"{a.out}.{t}", "w", encoding="ascii", newline="\n") as f:
            for i in range(per_thread):
                # Senders spread evenly, each thread starting elsewhere in the range.
                sig, body = make(a, (i * a.threads + t - 1) % a.senders + 1, "bench", t, i)
                f.write(f"{sig}\t{body}\n")


def warm(a):
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    for s in range(1, a.senders + 1):
        if a.kind == "api":
            path = "/api/v1/inbound"
            body = json.dumps({"external_id": f"warm-{s}", "from": {"address": f"bench{s}@example.pl"},
                               "text": "Dzień dobry"})
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {a.secret}"}
        else:
            sig, body = make(a, s, "warm", 0, s)
            if a.kind == "meta":
                path, headers = "/webhooks/meta", {"Content-Type": "application/json", "X-Hub-Signature-256": sig}
            else:
                path = TWILIO_PATH
                headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
        conn.request("POST", path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            sys.exit(f"webhooks_gen: warm-up {a.kind} sender {s}: HTTP {response.status} {answer[:300]!r}")
    conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["generate", "warm"])
    p.add_argument("--kind", choices=["api", "meta", "twilio"], required=True)
    p.add_argument("--secret", required=True, help="Meta app secret, Twilio auth token or API bearer token")
    p.add_argument("--senders", type=int, default=1000)
    p.add_argument("--count", type=int, default=150000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out")
    p.add_argument("--port", type=int)
    p.add_argument("--public-url", default="https://bench.example.com")
    p.add_argument("--account-sid", default="ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb01")
    p.add_argument("--service-sid", default="MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02")
    a = p.parse_args()
    if a.command == "generate":
        if a.kind == "api" or not a.out:
            p.error("generate needs --kind meta|twilio and --out")
        generate(a)
    else:
        if not a.port:
            p.error("warm needs --port")
        warm(a)


if __name__ == "__main__":
    main()
