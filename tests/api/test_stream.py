"""GET /api/v1/stream: live events, what each caller may see, resuming with `since`, resets, and
one client reconnecting at random moments to two daemons of one database while others write.

Every frame is validated against the description's Event schema by harness.Stream. The table
`events` (ids in commit order) is the truth a client's sequence of ids is compared with.
"""

import random
import sys
import threading
import time
import unittest

from harness import QUEUE_WORD, ServiceTestCase, StreamClosed, unique


def ids(events):
    return [int(e["id"]) for e in events if "id" in e]


class LiveStreamTest(ServiceTestCase):
    def assertIncreasing(self, events):  # noqa: N802
        numbers = ids(events)
        self.assertEqual(numbers, sorted(set(numbers)), "ids increase, no repeats")

    def test_events_arrive_live_and_in_order(self):
        s = self.service
        admin = s.admin()
        s.wait_until(s.outbox_settled, what="earlier replies to be sent")
        with s.session("boss").stream() as stream:
            self.assertEqual(stream.quiet(0.3), [], "no replay without since")
            r = s.inbound("faktura za październik", name="Marta")
            conv = r["conversation_id"]
            got = stream.until(lambda e: e["type"] == "message.created" and e["message"]["id"] == r["message_id"])
            created = got[-1]
            self.assertEqual(created["conversation_id"], conv)
            self.assertEqual((created["message"]["direction"], created["message"]["channel"], created["message"]["account"],
                              created["message"]["text"], created["message"]["truncated"]),
                             ("in", "api", "shop", "faktura za październik", False))

            self.assertEqual(admin.patch(f"/conversations/{conv}", {"assignee": "anna"}).status, 200)
            assigned = stream.until(lambda e: e["type"] == "conversation.assigned")[-1]
            self.assertEqual((assigned["conversation_id"], assigned["assignee"], assigned["previous"]), (conv, "anna", None))

            self.assertEqual(admin.patch(f"/conversations/{conv}", {"priority": "urgent", "tags": ["pilne"]}).status, 200)
            updated = stream.until(lambda e: e["type"] == "conversation.updated")[-1]
            self.assertEqual(updated["conversation"]["priority"], "urgent")
            self.assertEqual(updated["conversation"]["tags"], ["pilne"])
            self.assertEqual(updated["conversation"]["queue"], "billing")

            note = s.session("anna").post(f"/conversations/{conv}/notes", {"text": "Oddzwonię jutro."}).json
            noted = stream.until(lambda e: e["type"] == "note.created")[-1]
            self.assertEqual(noted["note"], {**noted["note"], **note})

            reply = admin.post(f"/conversations/{conv}/messages", {"text": "Dzień dobry, już sprawdzam."}).json
            out = stream.until(lambda e: e["type"] == "message.created" and e["message"]["id"] == reply["message_id"])[-1]
            self.assertEqual(out["message"]["direction"], "out")
            delivered = stream.until(lambda e: e["type"] == "message.updated" and e["message_id"] == reply["message_id"]
                                     and e["delivery_state"] == "delivered")[-1]
            self.assertIsNone(delivered["last_error"])

            self.assertIncreasing(stream.frames)
            # The admin sees every event: from the first to the last seen, the table has nothing else.
            seen = ids(stream.frames)
            in_table = [i for i in s.event_ids(seen[0] - 1) if i <= seen[-1]]
            self.assertEqual(seen, in_table)

    def test_long_texts_are_cut_at_2000_characters(self):
        s = self.service
        with s.admin().stream() as stream:
            r = s.inbound("ł" * 2500)
            e = stream.until(lambda e: e["type"] == "message.created" and e["message"]["id"] == r["message_id"])[-1]
            self.assertEqual(e["message"]["text"], "ł" * 2000)
            self.assertTrue(e["message"]["truncated"])

    def test_an_agent_sees_only_conversations_they_may_see(self):
        s = self.service
        with s.session("piotr").stream() as piotr, s.person_token("anna").stream() as anna:
            billing = s.conversation_in("billing")
            tech = s.conversation_in("tech")
            general = s.conversation_in("general")
            first = piotr.until(lambda e: e["type"] == "message.created")[-1]
            self.assertEqual(first["conversation_id"], tech["conversation_id"], "piotr does not see billing")
            got = anna.until(lambda e: e["conversation_id"] == general["conversation_id"])
            convs = {e["conversation_id"] for e in got}
            self.assertIn(billing["conversation_id"], convs)
            self.assertNotIn(tech["conversation_id"], convs, "anna does not see tech")
            # Assigned to anna: from then on hers too.
            self.assertEqual(s.admin().patch(f"/conversations/{tech['conversation_id']}", {"assignee": "anna"}).status, 200)
            assigned = anna.until(lambda e: e["conversation_id"] == tech["conversation_id"])[-1]
            self.assertEqual((assigned["type"], assigned["assignee"]), ("conversation.assigned", "anna"))
            for stream in (anna, piotr):
                self.assertIncreasing(stream.frames)

    def test_an_agent_sees_a_conversation_leave_and_nothing_after(self):
        s = self.service
        with s.person_token("anna").stream() as anna:
            billing = s.conversation_in("billing")
            conv = billing["conversation_id"]
            anna.until(lambda e: e["type"] == "message.created" and e["message"]["id"] == billing["message_id"])
            # Moved to a queue anna does not work: she sees the move, then nothing of it.
            self.assertEqual(s.admin().patch(f"/conversations/{conv}", {"queue": "tech"}).status, 200)
            moved = anna.until(lambda e: e["conversation_id"] == conv and e["type"] == "conversation.updated"
                               and e["conversation"]["queue"] == "tech")[-1]
            self.assertEqual(moved["conversation"]["state"], "open")
            self.assertEqual(s.admin().post(f"/conversations/{conv}/notes", {"text": "tylko dla tech"}).status, 201)
            marker = s.conversation_in("general")
            later = anna.until(lambda e: e["conversation_id"] == marker["conversation_id"])
            self.assertNotIn(conv, [e["conversation_id"] for e in later], "nothing after it left")

    def assertClosedWith(self, stream, code, within=12):  # noqa: N802
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                stream.next(0.5)
            except StreamClosed as closed:
                self.assertEqual(closed.code, code, closed)
                return
        self.fail(f"the stream was not closed with {code} within {within}s")

    def test_a_stream_ends_with_its_session_or_token_on_any_instance(self):
        s = self.service
        signed_in = s.sign_in("anna")
        r = s.admin().post("/people/anna/tokens", {"name": "strumień"})
        self.assertEqual(r.status, 201, r)
        token, token_id = r.json["token"], r.json["id"]
        with signed_in.stream() as by_cookie, s.bearer(token, login="anna").stream() as by_token:
            self.assertEqual(signed_in.delete("/session").status, 204)
            self.assertClosedWith(by_cookie, 4001)
            self.assertEqual(s.admin().delete(f"/tokens/{token_id}").status, 204)
            self.assertClosedWith(by_token, 4001)

    def test_resuming_with_since_yields_exactly_the_missed_events(self):
        s = self.service
        admin = s.admin()
        with admin.stream() as stream:
            marker = s.conversation_in(None, "znacznik")
            last = stream.until(lambda e: e["type"] == "message.created" and e["message"]["id"] == marker["message_id"])[-1]
        since = int(last["id"])
        # Missed while away: messages, an automatic reply and its delivery, a change, a note.
        general = s.conversation_in("general", "podczas przerwy")
        s.conversation_in("tech", "podczas przerwy")
        self.assertEqual(admin.patch(f"/conversations/{marker['conversation_id']}", {"state": "pending"}).status, 200)
        self.assertEqual(admin.post(f"/conversations/{general['conversation_id']}/notes", {"text": "notatka"}).status, 201)
        s.wait_until(s.outbox_settled, what="the automatic reply to be sent")
        missed = s.event_ids(since)
        self.assertGreaterEqual(len(missed), 6)
        for client in (admin, s.session("boss")):
            with self.subTest(caller=client.login), client.stream(since=since) as again:
                got = again.take(len(missed))
                self.assertEqual(ids(got), missed)
                self.assertEqual(again.quiet(0.5), [], "nothing more")
                types = [r["type"] for r in s.db.rows(f"SELECT type FROM events WHERE {s.EVENT_ID} > {since} ORDER BY xact, seq")]
                self.assertEqual([e["type"] for e in got], types)
        # From the newest id: nothing to replay, then live.
        with admin.stream(since=s.newest_event()) as fresh:
            self.assertEqual(fresh.quiet(0.3), [])
            r = s.conversation_in(None)
            self.assertEqual(fresh.next()["message"]["id"], r["message_id"])

    def test_an_agent_resuming_gets_only_their_missed_events(self):
        s = self.service
        s.wait_until(s.outbox_settled, what="earlier replies to be sent")
        since = s.newest_event()
        billing = s.conversation_in("billing", "dla anny")
        s.conversation_in("tech", "nie dla anny")
        expected = [int(r["id"]) for r in s.db.rows(
            f"SELECT {s.EVENT_ID} AS id FROM events WHERE {s.EVENT_ID} > {since}"
            f" AND conversation_id = {billing['conversation_id']} ORDER BY xact, seq")]
        with s.session("anna").stream(since=since) as stream:
            got = stream.take(len(expected))
            self.assertEqual(ids(got), expected)
            self.assertEqual(stream.quiet(0.5), [])

    def test_an_unknown_since_resets(self):
        s = self.service
        s.conversation_in(None)
        with s.admin().stream(since=s.newest_event() + 1000) as stream:
            first = stream.next()
            self.assertEqual(first, {"type": "reset"})
            r = s.conversation_in(None, "po resecie")
            follow = stream.until(lambda e: e["type"] == "message.created")[-1]
            self.assertEqual(follow["message"]["id"], r["message_id"])


class PrunedStreamTest(ServiceTestCase):
    def test_a_since_older_than_the_kept_events_resets(self):
        s = self.service
        for n in range(4):
            s.conversation_in(None, f"stare {n}")
        keys = s.event_ids()
        self.assertGreaterEqual(len(keys), 4)
        s.prune_events(keys[-3])  # keeps the last two
        with s.admin().stream(since=keys[-4]) as stream:
            self.assertEqual(stream.next(), {"type": "reset"})
            self.assertEqual(stream.quiet(0.3), [], "after a reset: live events only")
            r = s.conversation_in(None, "nowe")
            self.assertEqual(stream.until(lambda e: e["type"] == "message.created")[-1]["message"]["id"], r["message_id"])
        with s.admin().stream(since=keys[-3]) as stream:  # exactly the horizon: nothing was missed
            got = stream.take(2)
            self.assertEqual(ids(got), keys[-2:])
        with s.admin().stream(since=0) as stream:
            self.assertEqual(stream.next(), {"type": "reset"})


class TwoDaemonStreamTest(ServiceTestCase):
    """Writers on both daemons; one reader hopping between them; the ids it saw are the table's."""

    instances = 2
    duration = 8.0

    def test_reconnecting_across_two_daemons_sees_every_event_once_in_order(self):
        s = self.service
        convs = [s.conversation_in(q, "do zmian", instance=i)["conversation_id"]
                 for i in (0, 1) for q in ("billing", "tech", "general", None)]
        s.wait_until(s.outbox_settled, what="the setup's replies")
        baseline = s.newest_event()
        self.assertGreater(baseline, 0)
        stop = threading.Event()
        failures = []
        counts = {"inbound": 0, "patch": 0}
        lock = threading.Lock()

        def guarded(work):
            def run():
                try:
                    work()
                except BaseException as e:  # reported by the main thread
                    failures.append(repr(e))
            return run

        def inbound_writer(n):
            addresses = [f"{unique(f'w{n}-')}@example.pl" for _ in range(5)]
            i = 0
            while not stop.is_set():
                queue = random.choice(list(QUEUE_WORD))
                s.inbound(f"{QUEUE_WORD[queue]} {n}/{i}", address=random.choice(addresses), instance=i % 2)
                with lock:
                    counts["inbound"] += 1
                i += 1

        def patch_writer(n):
            admins = [s.admin(0), s.admin(1)]
            i = 0
            while not stop.is_set():
                change = random.choice([
                    {"state": random.choice(["open", "pending"])},
                    {"assignee": random.choice(["anna", "piotr", None])},
                    {"priority": random.choice(["low", "normal", "high", "urgent"])},
                    {"tags": random.sample(["a", "b", "c", "vip"], random.randint(0, 2))},
                ])
                r = admins[i % 2].patch(f"/conversations/{random.choice(convs)}", change)
                if r.status != 200:
                    raise AssertionError(f"PATCH failed: {r!r}")
                with lock:
                    counts["patch"] += 1
                i += 1

        writers = [threading.Thread(target=guarded(lambda n=n: inbound_writer(n)), daemon=True) for n in range(3)]
        writers += [threading.Thread(target=guarded(lambda n=n: patch_writer(n)), daemon=True) for n in range(2)]
        for w in writers:
            w.start()
        timer = threading.Timer(self.duration, stop.set)
        timer.start()

        seen = []
        last = baseline
        instance = 0
        connections = 0
        rng = random.Random()
        deadline = time.monotonic() + self.duration + 60

        def caught_up():
            return stop.is_set() and not any(w.is_alive() for w in writers) and s.outbox_settled() and \
                last == s.newest_event()

        try:
            while time.monotonic() < deadline:
                stream = s.admin(instance).stream(since=last)
                connections += 1
                until = time.monotonic() + rng.choice([0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8])
                try:
                    while True:
                        event = stream.next(max(until - time.monotonic(), 0.01))
                        if event is None:
                            break
                        self.assertNotEqual(event["type"], "reset", f"a reset after {len(seen)} events")
                        seen.append(int(event["id"]))
                        last = int(event["id"])
                        if time.monotonic() >= until:
                            break
                except StreamClosed as closed:
                    self.assertEqual(closed.code, 1013, closed)  # too slow: resume, as the server asks
                stream.close(abrupt=rng.random() < 0.5)
                instance ^= 1
                if caught_up():
                    time.sleep(0.5)  # anything still on its way would land in the table by now
                    if caught_up():
                        break
        finally:
            stop.set()
            timer.cancel()
            for w in writers:
                w.join(30)

        self.assertEqual(failures, [])
        expected = s.event_ids(baseline)
        print(f"\n  two daemons: {len(expected)} events, {counts['inbound']} inbound messages, {counts['patch']} "
              f"changes, {connections} connections", file=sys.stderr)
        self.assertGreater(counts["inbound"], 20, counts)
        self.assertGreater(counts["patch"], 20, counts)
        self.assertGreaterEqual(connections, 10)
        self.assertEqual(len(seen), len(set(seen)), "an event seen twice")
        missing = sorted(set(expected) - set(seen))
        self.assertEqual(missing, [], f"{len(missing)} events never seen")
        self.assertEqual(seen, expected)


if __name__ == "__main__":
    unittest.main()
