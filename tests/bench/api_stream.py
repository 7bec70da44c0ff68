#!/usr/bin/python3
"""Stream latency for tests/bench/api: how long after an inbound message is acknowledged its
message.created event reaches a client of GET /api/v1/stream.

One thread holds the WebSocket (config admin token: it sees every event) and notes when each
message.created event arrives; the main thread POSTs /api/v1/inbound on one keep-alive connection
at a fixed rate, from customers the benchmark loaded, and notes when each 200 answer has been
read: the message is committed by then. The latency of a message is the first time minus the
second (negative when the event came before the answer). Prints one JSON line of figures.
Standard library and python3-websocket (websocket-client) only.
"""
import argparse
import http.client
import json
import random
import threading
import time

import websocket


def receive(ws, arrived, lock, stop, counts):
    while not stop.is_set():
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketException, OSError) as e:
            if not stop.is_set():
                counts["error"] = str(e)
            return
        now = time.monotonic()
        try:
            event = json.loads(frame)
        except (TypeError, ValueError):
            counts["unparsed"] = counts.get("unparsed", 0) + 1
            continue
        kind = event.get("type", "?")
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "message.created":
            with lock:
                arrived.setdefault(event["message"]["id"], now)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--admin-token", required=True)
    p.add_argument("--token", required=True, help="the api channel account's token")
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--customers", type=int, required=True, help="senders cust-1 .. cust-N")
    p.add_argument("--run", default="stream")
    a = p.parse_args()

    ws = websocket.create_connection(f"ws://{a.host}:{a.port}/api/v1/stream",
                                     header=[f"Authorization: Bearer {a.admin_token}"], timeout=5)
    ws.settimeout(0.5)
    arrived, lock, stop, counts = {}, threading.Lock(), threading.Event(), {}
    reader = threading.Thread(target=receive, args=(ws, arrived, lock, stop, counts), daemon=True)
    reader.start()
    time.sleep(0.3)  # the hub registers the client before the first message commits

    conn = http.client.HTTPConnection(a.host, a.port, timeout=10)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {a.token}"}
    acked, failures, post_ms = {}, [], []
    total = int(a.rate * a.duration)
    start = time.monotonic()
    for i in range(total):
        delay = start + i / a.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = json.dumps({"external_id": f"{a.run}-{i}",
                           "from": {"address": f"cust-{random.randint(1, a.customers)}"},
                           "text": f"Czy jest już coś nowego w sprawie zgłoszenia {i}?"})
        sent = time.monotonic()
        try:
            conn.request("POST", "/api/v1/inbound", body, headers)
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as e:
            failures.append(str(e))
            conn.close()
            conn = http.client.HTTPConnection(a.host, a.port, timeout=10)
            continue
        done = time.monotonic()
        post_ms.append((done - sent) * 1000)
        if response.status != 200:
            failures.append(response.status)
            continue
        reply = json.loads(answer)
        if not reply.get("duplicate"):
            acked[reply["message_id"]] = done
    elapsed = time.monotonic() - start
    conn.close()

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with lock:
            if all(m in arrived for m in acked):
                break
        time.sleep(0.05)
    stop.set()
    reader.join(2)
    try:
        ws.close()
    except (websocket.WebSocketException, OSError):
        pass

    with lock:
        lat = sorted((arrived[m] - t) * 1000 for m, t in acked.items() if m in arrived)
    post_ms.sort()

    def pct(values, q):
        return round(values[min(len(values) - 1, int(q * len(values)))], 2) if values else None

    print(json.dumps({"sent": total, "acked": len(acked), "failures": len(failures),
                      "achieved_rate": round(total / elapsed, 1), "arrived": len(lat),
                      "before_answer": sum(1 for v in lat if v < 0),
                      "p50_ms": pct(lat, 0.50), "p99_ms": pct(lat, 0.99), "max_ms": pct(lat, 1.0),
                      "post_p50_ms": pct(post_ms, 0.50), "post_p99_ms": pct(post_ms, 0.99),
                      "events": counts}))


main()
