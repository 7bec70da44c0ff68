#!/usr/bin/env python3
"""Open-loop load for tests/bench/inbound: POST /api/v1/inbound at a fixed rate.

Requests are scheduled at start + i/rate whatever the server does; each latency is measured from
its scheduled time, so time spent waiting for a free connection counts (no coordinated omission,
unlike wrk, whose connections each wait for their reply). Prints one JSON line of figures.
"""
import argparse
import asyncio
import json
import random
import time


async def connection(host, port, queue, latencies, errors):
    reader, writer = await asyncio.open_connection(host, port)
    while True:
        item = await queue.get()
        if item is None:
            writer.close()
            return
        scheduled, request = item
        try:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            latencies.append(time.monotonic() - scheduled)
            if status != 200:
                errors.append(status)
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            errors.append(str(e))
            reader, writer = await asyncio.open_connection(host, port)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--token", required=True)
    p.add_argument("--customers", type=int, default=200)
    p.add_argument("--run", default="open")
    a = p.parse_args()

    queue = asyncio.Queue()
    latencies, errors = [], []
    workers = [asyncio.create_task(connection(a.host, a.port, queue, latencies, errors))
               for _ in range(a.connections)]
    total = int(a.rate * a.duration)
    start = time.monotonic() + 0.2
    for i in range(total):
        scheduled = start + i / a.rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        body = json.dumps({
            "external_id": f"open-{a.run}-{i}",
            "from": {"address": f"bench{random.randint(1, a.customers)}@example.pl"},
            "text": f"Pytanie o zamówienie numer {i}",
        }).encode()
        request = (b"POST /api/v1/inbound HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                   b"Authorization: Bearer " + a.token.encode() + b"\r\nContent-Length: "
                   + str(len(body)).encode() + b"\r\n\r\n" + body)
        queue.put_nowait((scheduled, request))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.monotonic() - start
    lat = sorted(latencies)

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 2) if lat else None

    print(json.dumps({"target_rate": a.rate, "sent": total, "completed": len(lat), "errors": len(errors),
                      "achieved_rate": round(len(lat) / elapsed, 1), "p50_ms": pct(0.50),
                      "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0)}))


asyncio.run(main())
