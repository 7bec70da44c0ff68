"""The inbox and one conversation: list filters, orders and paging, the detail, the history and its
paging, replies (and what the channels refuse), previews, notes and changes.

Expected sets come from the database (table conversations), so "nothing missing" means missing
from what PostgreSQL holds, not from what another answer said.
"""

import json
import time
import unittest

import harness
from harness import QUEUE_WORD, ServiceTestCase, parse_time, unique

DEFAULT_STATES = "state IN ('open', 'pending')"


class ListTest(ServiceTestCase):
    """A fixed set of conversations in every queue and state; nothing changes them during the tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.service
        admin = s.admin()
        ids = {}
        for queue in ("billing", "tech", "general", None):
            ids[queue] = []
            for n in range(3):
                r = s.conversation_in(queue, f"numer {n}", name=f"Klient {queue} {n}")
                ids[queue].append(r["conversation_id"])
                time.sleep(0.01)  # distinct times, so the orders have something to order
        # A second message in some conversations: later activity.
        for queue in ("billing", "tech"):
            address = s.db.scalar(
                "SELECT i.value FROM identities i JOIN conversations c ON c.customer_id = i.customer_id "
                f"WHERE c.id = {ids[queue][0]}")
            s.inbound(f"{QUEUE_WORD[queue]} jeszcze raz", address=address)
        psid = s.messenger("faktura przez messengera")
        cls.messenger_conv = str(s.db.scalar(
            "SELECT c.id FROM conversations c JOIN identities i ON i.customer_id = c.customer_id "
            f"WHERE i.kind = 'messenger_psid' AND i.value = '{psid}'"))
        # People answered two of them: nobody waits there any more.
        cls.answered = [ids["billing"][1], ids[None][1]]
        for conv in cls.answered:
            r = admin.post(f"/conversations/{conv}/messages", {"text": "Już sprawdzamy."})
            assert r.status == 201, r
        # States, assignees and tags, set in the database so that these tests do not depend on PATCH.
        s.db.execute(f"UPDATE conversations SET state = 'resolved', resolved_at = now() WHERE id IN ({ids['billing'][2]}, {ids['tech'][2]}, {ids[None][2]})")
        s.db.execute(f"UPDATE conversations SET state = 'pending' WHERE id IN ({ids['general'][2]}, {ids['tech'][1]})")
        s.db.execute(f"UPDATE conversations SET assignee = 'anna' WHERE id IN ({ids['tech'][0]}, {ids['general'][0]})")
        s.db.execute(f"UPDATE conversations SET assignee = 'piotr' WHERE id = {ids['tech'][1]}")
        s.db.execute(f"UPDATE conversations SET tags = array_append(tags, 'vip') WHERE id IN ({ids['billing'][0]}, {ids[None][0]})")
        cls.ids = ids

    def callers(self):
        s = self.service
        roles = s.roles()
        return {
            "admin token": (roles["admin token"], None, "admin-token"),
            "admin session": (roles["admin session"], None, "boss"),
            "agent session": (roles["agent session"], "anna", "anna"),
            "agent token": (roles["agent token"], "anna", "anna"),
            "piotr session": (s.session("piotr"), "piotr", "piotr"),
            "zofia session": (s.session("zofia"), "zofia", "zofia"),
        }

    def check_walk(self, client, params, expected, what):
        """Pages of 2 and of 3 and one page of 200 hold the same conversations in the same order."""
        whole = client.get("/conversations", params=dict(params, limit=200))
        self.assertEqual(whole.status, 200, whole)
        self.assertIsNone(whole.json["next_cursor"], what)
        order = [c["id"] for c in whole.json["items"]]
        self.assertEqual(len(order), len(set(order)), f"{what}: duplicates in one page")
        self.assertEqual(set(order), expected, what)
        for limit in (1, 2, 3):
            items, pages = client.walk("/conversations", params, limit=limit)
            walked = [c["id"] for c in items]
            self.assertEqual(walked, order, f"{what}, pages of {limit}")
            for page in pages:
                self.assertLessEqual(len(page.json["items"]), limit)
            for page in pages[:-1]:
                self.assertIsNotNone(page.json["next_cursor"])
        return whole.json["items"]

    def test_the_default_list_for_every_caller(self):
        for name, (client, login, _) in self.callers().items():
            with self.subTest(name):
                expected = self.service.visible_conversations(login, DEFAULT_STATES)
                self.assertTrue(expected)
                self.check_walk(client, {}, expected, name)

    def test_filters(self):
        filters = [
            ({"state": "all"}, "true"),
            ({"state": "resolved"}, "state = 'resolved'"),
            ({"state": "open"}, "state = 'open'"),
            ({"state": "pending,resolved"}, "state IN ('pending', 'resolved')"),
            ({"state": "open,pending"}, DEFAULT_STATES),
            ({"queue": "billing"}, f"queue = 'billing' AND {DEFAULT_STATES}"),
            ({"queue": "tech", "state": "all"}, "queue = 'tech'"),
            ({"queue": "none"}, f"queue IS NULL AND {DEFAULT_STATES}"),
            ({"assignee": "anna", "state": "all"}, "assignee = 'anna'"),
            ({"assignee": "piotr"}, f"assignee = 'piotr' AND {DEFAULT_STATES}"),
            ({"assignee": "none"}, f"assignee IS NULL AND {DEFAULT_STATES}"),
            ({"tag": "money", "state": "all"}, "'money' = ANY(tags)"),
            ({"tag": "vip"}, f"'vip' = ANY(tags) AND {DEFAULT_STATES}"),
            ({"tag": "nobody-has-this"}, "false"),
            ({"queue": "billing", "tag": "vip", "state": "all"}, "queue = 'billing' AND 'vip' = ANY(tags)"),
            ({"sort": "activity", "state": "all"}, "true"),
        ]
        for name, (client, login, _) in self.callers().items():
            for params, where in filters:
                with self.subTest(caller=name, params=params):
                    self.check_walk(client, params, self.service.visible_conversations(login, where), f"{name} {params}")

    def test_assignee_me(self):
        for name, (client, login, me) in self.callers().items():
            with self.subTest(name):
                expected = self.service.visible_conversations(login, f"assignee = '{me}'")
                self.check_walk(client, {"assignee": "me", "state": "all"}, expected, name)

    def test_channel_filter_follows_last_channel(self):
        admin = self.service.admin()
        everything, _ = admin.walk("/conversations", {"state": "all"}, limit=200)
        self.assertIn(self.messenger_conv, {c["id"] for c in everything})
        for channel in ("api", "messenger", "sms"):
            with self.subTest(channel):
                expected = {c["id"] for c in everything if c["last_channel"] == channel}
                self.check_walk(admin, {"channel": channel, "state": "all"}, expected, channel)
        self.assertEqual([c["last_channel"] for c in everything if c["id"] == self.messenger_conv], ["messenger"])

    def waiting_order(self):
        items = self.check_walk(self.service.admin(), {"state": "all"}, self.service.visible_conversations(None), "waiting")
        waiting = [c for c in items if c["waiting_since"] is not None]
        rest = [c for c in items if c["waiting_since"] is None]
        self.assertEqual(items, waiting + rest, "the waiting ones first")
        return waiting, rest

    def test_the_waiting_order_puts_the_longest_waiting_first(self):
        waiting, rest = self.waiting_order()
        since = [parse_time(c["waiting_since"]) for c in waiting]
        self.assertEqual(since, sorted(since), "longest waiting first")
        for conv in self.answered:
            self.assertIn(conv, [c["id"] for c in rest], "answered by a person: nobody waits")
        self.assertIn(self.ids["tech"][0], [c["id"] for c in waiting])

    def test_the_waiting_order_then_lists_the_others_by_id(self):
        _, rest = self.waiting_order()
        self.assertGreaterEqual(len(rest), 2)
        ids = [int(c["id"]) for c in rest]
        self.assertEqual(ids, sorted(ids), "nobody waits on these: oldest conversation first")
        self.assertTrue(all(c["waiting_since"] is None for c in rest))

    def test_the_activity_order(self):
        items = self.check_walk(self.service.admin(), {"state": "all", "sort": "activity"},
                                self.service.visible_conversations(None), "activity")
        times = [parse_time(c["last_message_at"]) for c in items]
        present = [t for t in times if t is not None]
        self.assertEqual(present, sorted(present, reverse=True))
        self.assertEqual(times[:len(present)], present, "conversations without messages last")
        # The conversation written to twice is ahead of the others of its queue.
        tech = [c["id"] for c in items if c["queue"] == "tech"]
        self.assertEqual(tech[0], self.ids["tech"][0])

    def test_list_items_carry_the_conversation(self):
        admin = self.service.admin()
        items, _ = admin.walk("/conversations", {"state": "all"}, limit=200)
        by_id = {c["id"]: c for c in items}
        rows = self.service.db.rows("SELECT id::text, customer_id::text, state, queue, assignee, priority, tags "
                                    "FROM conversations")
        for row in rows:
            with self.subTest(row["id"]):
                c = by_id[row["id"]]
                for key in ("customer_id", "state", "queue", "assignee", "priority", "tags"):
                    self.assertEqual(c[key], row[key], key)
                self.assertEqual(c["customer"]["id"], c["customer_id"])
        first = by_id[self.ids["general"][1]]
        self.assertEqual(first["customer"]["display_name"], "Klient general 1")
        self.assertEqual(first["queue"], "general")
        self.assertEqual(by_id[self.ids["tech"][0]]["priority"], "high")

    def test_bad_parameters(self):
        admin = self.service.admin()
        cases = [{"limit": 0}, {"limit": 201}, {"limit": -1}, {"limit": "abc"},
                 {"cursor": "not-a-cursor"}, {"cursor": "%%%"},
                 {"state": "closed"}, {"sort": "newest"}, {"channel": "fax"}]
        for params in cases:
            with self.subTest(params=params):
                r = admin.get("/conversations", params=params)
                self.assertError(r, 400)
                if "limit" in params or "cursor" in params:
                    self.assertEqual(r.error_code, "invalid_parameter", r)
        # A cursor is tied to nothing secret: another caller's cursor is still only a position.
        first = admin.get("/conversations", params={"limit": 1, "state": "all"})
        cursor = first.json["next_cursor"]
        self.assertIsNotNone(cursor)
        r = self.service.session("anna").get("/conversations", params={"limit": 200, "state": "all", "cursor": cursor})
        if r.status == 200:
            visible = self.service.visible_conversations("anna")
            self.assertTrue({c["id"] for c in r.json["items"]} <= visible)
        else:
            self.assertError(r, 400, "invalid_parameter")


class ConversationTest(ServiceTestCase):
    def conversation(self, queue="billing", **kw):
        return self.service.conversation_in(queue, **kw)["conversation_id"]

    def history(self, conv, client=None, **params):
        r = (client or self.service.admin()).get(f"/conversations/{conv}/messages", params=params or None)
        self.assertEqual(r.status, 200, r)
        return r.json

    def outbox_rows(self):
        return int(self.service.db.scalar("SELECT count(*) FROM outbox"))

    # --- one conversation ---

    def test_detail_says_why_and_where_a_reply_can_go(self):
        s = self.service
        address = f"{unique('szczegoly-')}@example.pl"
        r = s.inbound("faktura za grudzień", address=address, name="Jan Kowalski")
        d = s.admin().get(f"/conversations/{r['conversation_id']}")
        self.assertEqual(d.status, 200, d)
        c = d.json
        self.assertEqual((c["id"], c["customer_id"], c["queue"], c["state"]), (r["conversation_id"], r["customer_id"], "billing", "open"))
        self.assertEqual(c["customer"], {**c["customer"], "id": r["customer_id"], "display_name": "Jan Kowalski"})
        self.assertIn("money", c["tags"])
        self.assertEqual(c["last_channel"], "api")
        self.assertIsNotNone(c["waiting_since"])
        self.assertIsNone(c["first_response_at"])
        self.assertEqual(c["why"]["rule"], "billing")
        self.assertRegex(c["why"]["rules_hash"], "^[0-9a-f]{64}$")
        self.assertIn({"channel": "api", "account": "shop", "address": address},
                      [{k: x[k] for k in ("channel", "account", "address")} for x in c["reachable"]])
        # No rule matched: still a decision, by no rule.
        plain = s.admin().get(f"/conversations/{self.conversation(None)}").json
        self.assertIsNone(plain["queue"])
        if plain["why"] is not None:
            self.assertIsNone(plain["why"]["rule"])
        # Messenger: reachable through the Page.
        psid = s.messenger("faktura przez messengera")
        conv = s.db.scalar("SELECT c.id::text FROM conversations c JOIN identities i ON i.customer_id = c.customer_id "
                           f"WHERE i.kind = 'messenger_psid' AND i.value = '{psid}'")
        m = s.admin().get(f"/conversations/{conv}").json
        self.assertEqual(m["last_channel"], "messenger")
        self.assertIn(("messenger", psid), [(x["channel"], x["address"]) for x in m["reachable"]])

    def test_history_pages_towards_older_messages(self):
        s = self.service
        address = f"{unique('historia-')}@example.pl"
        first = s.inbound("wiadomość 0", address=address)
        conv = first["conversation_id"]
        for n in range(1, 8):
            s.inbound(f"wiadomość {n}", address=address)
        expected = [str(i) for i in s.db.column(f"SELECT id FROM messages WHERE conversation_id = {conv} ORDER BY created_at, id")]
        self.assertEqual(len(expected), 8)
        whole = self.history(conv)
        self.assertEqual([m["id"] for m in whole["messages"]], expected)
        self.assertIsNone(whole["next_cursor"])
        self.assertEqual(whole["conversation"]["id"], conv)
        self.assertEqual(whole["messages"][0]["text"], "wiadomość 0")
        self.assertTrue(all(m["direction"] == "in" and m["channel"] == "api" for m in whole["messages"]))
        for limit in (1, 3, 5, 8):
            with self.subTest(limit=limit):
                pages = []
                page = self.history(conv, limit=limit)
                pages.append(page["messages"])
                while page["next_cursor"] is not None:
                    self.assertEqual(len(page["messages"]), limit)
                    page = self.history(conv, limit=limit, cursor=page["next_cursor"])
                    pages.append(page["messages"])
                self.assertEqual([m["id"] for m in pages[0]], expected[-limit:], "the newest first")
                walked = [m["id"] for chunk in reversed(pages) for m in chunk]
                self.assertEqual(walked, expected)
        admin = s.admin()
        for params in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"cursor": "garbage"}):
            with self.subTest(params=params):
                self.assertError(admin.get(f"/conversations/{conv}/messages", params=params), 400, "invalid_parameter")
        self.assertEqual(admin.get(f"/conversations/{conv}/messages", params={"limit": 500}).status, 200)

    # --- replies ---

    def test_a_reply_is_queued_sent_and_answers_the_customer(self):
        s = self.service
        conv = self.conversation("billing")
        anna = s.session("anna")
        r = anna.post(f"/conversations/{conv}/messages", {"text": "Dzień dobry, faktura jest już w drodze."})
        self.assertEqual(r.status, 201, r)
        q = r.json
        self.assertEqual((q["conversation_id"], q["channel"], q["account"], q["delivery_state"]), (conv, "api", "shop", "queued"))
        s.wait_until(lambda: any(m["id"] == q["message_id"] and m.get("delivery_state") == "delivered"
                                 for m in self.history(conv)["messages"]), what="the reply to be delivered")
        out = [m for m in self.history(conv)["messages"] if m["id"] == q["message_id"]][0]
        self.assertEqual((out["direction"], out["channel"], out["account"]), ("out", "api", "shop"))
        self.assertGreaterEqual(out["attempts"], 1)
        c = s.admin().get(f"/conversations/{conv}").json
        self.assertIsNone(c["waiting_since"], "a person answered")
        self.assertIsNotNone(c["first_response_at"])
        # The API account's callback got it.
        with s.callbacks.lock:
            delivered = [json.loads(body) for _, body in s.callbacks.received]
        self.assertIn(q["message_id"], [d.get("message_id") for d in delivered])

    def messenger_conversation(self, text="faktura", **kw):
        psid = self.service.messenger(text, **kw)
        return self.service.db.scalar(
            "SELECT c.id::text FROM conversations c JOIN identities i ON i.customer_id = c.customer_id "
            f"WHERE i.kind = 'messenger_psid' AND i.value = '{psid}'")

    def sms_conversation(self, text="faktura"):
        phone = self.service.sms(text)
        return self.service.db.scalar(
            "SELECT c.id::text FROM conversations c JOIN identities i ON i.customer_id = c.customer_id "
            f"WHERE i.kind = 'phone' AND i.value = '{phone}'")

    def assertRefused(self, conv, body, status, code=None):  # noqa: N802
        """The reply is refused and nothing is queued."""
        before = self.outbox_rows()
        self.assertError(self.service.admin().post(f"/conversations/{conv}/messages", body), status, code)
        self.assertEqual(self.outbox_rows(), before, "nothing queued")

    def test_a_reply_on_a_channel_the_customer_never_used(self):
        self.assertRefused(self.conversation("billing"), {"text": "SMS?", "channel": "sms"}, 422, "not_reachable")

    def test_malformed_replies(self):
        conv = self.conversation("billing")
        self.assertRefused(conv, {}, 400, "missing_field")
        self.assertRefused(conv, {"text": 5}, 400)
        self.assertRefused(conv, {"text": "x", "channel": "telegraph"}, 400)

    def test_a_reply_longer_than_the_channel_takes(self):
        conv = self.messenger_conversation()
        self.assertRefused(conv, {"text": "ż" * 2001}, 422, "too_long")  # Messenger: 2000 characters
        ok = self.service.admin().post(f"/conversations/{conv}/messages", {"text": "ż" * 2000})
        self.assertEqual(ok.status, 201, ok)
        self.assertEqual((ok.json["channel"], ok.json["account"]), ("messenger", harness.META_PAGE_ID))

    def test_a_reply_after_the_messaging_window_closed(self):
        # Three days after the customer's last message; the Page has no HUMAN_AGENT permission.
        conv = self.messenger_conversation("faktura sprzed trzech dni", sent_at=time.time() - 3 * 86400)
        self.assertRefused(conv, {"text": "Dzień dobry"}, 422, "window_closed")
        preview = self.service.admin().post(f"/conversations/{conv}/reply-preview", {"text": "Dzień dobry"})
        self.assertEqual(preview.status, 200, preview)
        v = preview.json
        self.assertEqual((v["allowed"], v["reason"]), (False, "window_closed"))
        self.assertFalse(v["window"]["open"])

    # --- previews ---

    def preview(self, conv, body):
        before = self.outbox_rows()
        r = self.service.admin().post(f"/conversations/{conv}/reply-preview", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.outbox_rows(), before, "a preview queues nothing")
        return r.json

    def test_a_reply_from_a_template_rendered_for_the_customer(self):
        s = self.service
        r = s.inbound("faktura do wyjaśnienia", name="Jan Kowalski")
        conv = r["conversation_id"]
        expected = f"Dzień dobry Jan, piszemy przez api w sprawie #{conv}."
        v = self.preview(conv, {"template": "greeting"})
        self.assertEqual((v["text"], v["allowed"]), (expected, True))
        ok = s.admin().post(f"/conversations/{conv}/messages", {"template": "greeting"})
        self.assertEqual(ok.status, 201, ok)
        self.assertEqual(ok.json["text"], expected)
        stored = s.db.scalar(f"SELECT body FROM messages WHERE id = {int(ok.json['message_id'])}")
        self.assertEqual(stored, expected)
        self.assertRefused(conv, {"template": "nie-ma-takiego"}, 400, "invalid_field")
        self.assertRefused(conv, {"template": "greeting", "text": "oba"}, 400, "invalid_field")

    def test_preview_of_an_api_reply(self):
        v = self.preview(self.conversation("billing"), {"text": "Dzień dobry"})
        self.assertEqual((v["channel"], v["account"], v["allowed"], v["reason"], v["characters"]), ("api", "shop", True, None, 11))
        self.assertIsNone(v["encoding"])
        self.assertIsNone(v["segments"])
        self.assertIn(("api", "shop", True), [(o["channel"], o["account"], o["allowed"]) for o in v["options"]])

    def test_preview_on_a_channel_the_customer_never_used(self):
        v = self.preview(self.conversation("billing"), {"text": "SMS?", "channel": "sms"})
        self.assertEqual((v["channel"], v["allowed"], v["reason"]), ("sms", False, "not_reachable"))

    def test_preview_of_a_long_messenger_reply(self):
        v = self.preview(self.messenger_conversation(), {"text": "a" * 2001})
        self.assertEqual((v["channel"], v["allowed"], v["reason"], v["characters"], v["limit"]),
                         ("messenger", False, "too_long", 2001, 2000))
        self.assertTrue(v["window"]["open"])
        self.assertIsNotNone(v["window"]["closes_at"])

    def test_preview_of_sms_encodings_and_segments(self):
        conv = self.sms_conversation()
        for text, encoding, segments in (("a" * 160, "gsm7", 1), ("a" * 161, "gsm7", 2),
                                         ("ą" * 70, "ucs2", 1), ("ą" * 71, "ucs2", 2)):
            with self.subTest(text=text[:3], length=len(text)):
                v = self.preview(conv, {"text": text})
                self.assertEqual((v["channel"], v["encoding"], v["segments"], v["characters"]),
                                 ("sms", encoding, segments, len(text)))

    # --- notes ---

    def test_notes(self):
        s = self.service
        conv = self.conversation("billing")
        anna = s.session("anna")
        r = anna.post(f"/conversations/{conv}/notes", {"text": "Klientka dzwoniła też na infolinię."})
        self.assertEqual(r.status, 201, r)
        note = r.json
        self.assertEqual((note["conversation_id"], note["author"], note["text"]), (conv, "anna", "Klientka dzwoniła też na infolinię."))
        by_token = s.person_token("anna").post(f"/conversations/{conv}/notes", {"text": "Druga notatka."}).json
        self.assertEqual(by_token["author"], "anna")
        notes = self.history(conv, client=s.session("boss"))["notes"]
        self.assertEqual([n["id"] for n in notes], [note["id"], by_token["id"]])
        self.assertEqual(self.history(conv)["messages"][-1]["direction"], "in", "a note is not a message")
        self.assertError(anna.post(f"/conversations/{conv}/notes", {"text": ""}), 400)
        self.assertError(anna.post(f"/conversations/{conv}/notes", {}), 400, "missing_field")

    # --- changes ---

    def test_changes(self):
        s = self.service
        conv = self.conversation("billing")
        anna = s.session("anna")
        steps = [
            ({"state": "pending"}, {"state": "pending"}),
            ({"assignee": "anna"}, {"assignee": "anna"}),
            ({"priority": "urgent"}, {"priority": "urgent"}),
            ({"tags": ["zwrot", "vip"]}, {"tags": ["zwrot", "vip"]}),
            ({"tags": []}, {"tags": []}),
            ({"queue": "general"}, {"queue": "general"}),
            ({"queue": None, "assignee": None}, {"queue": None, "assignee": None}),
            ({"state": "resolved"}, {"state": "resolved"}),
            ({"state": "open"}, {"state": "open", "resolved_at": None}),
        ]
        for change, expected in steps:
            with self.subTest(change=change):
                r = anna.patch(f"/conversations/{conv}", change)
                self.assertEqual(r.status, 200, r)
                self.assertEqual({k: r.json[k] for k in expected}, expected)
                self.assertEqual(s.admin().get(f"/conversations/{conv}").json["state"], r.json["state"])
        resolved = anna.patch(f"/conversations/{conv}", {"state": "resolved"}).json
        self.assertIsNotNone(resolved["resolved_at"])
        for change in ({"state": "closed"}, {"priority": "critical"}, {"queue": "no-such-queue"},
                       {"assignee": "nobody-here"}, {"tags": "vip"}, {"tags": [1]}, {"state": None}):
            with self.subTest(invalid=change):
                r = anna.patch(f"/conversations/{conv}", change)
                self.assertError(r, 400)
                if set(change) != {"tags"}:
                    self.assertEqual(r.error_code, "invalid_field", r)
        self.assertError(anna.patch(f"/conversations/{conv}", ["state", "open"]), 400)

    def test_moving_a_conversation_out_of_sight(self):
        s = self.service
        conv = self.conversation("billing")
        anna = s.session("anna")
        self.assertEqual(anna.patch(f"/conversations/{conv}", {"queue": "tech"}).status, 200)
        self.assertError(anna.get(f"/conversations/{conv}"), 404)
        self.assertEqual(s.session("piotr").get(f"/conversations/{conv}").status, 200)

    def test_reopening_while_the_customer_has_another_active_conversation(self):
        s = self.service
        admin = s.admin()
        address = f"{unique('wraca-')}@example.pl"
        first = s.inbound("faktura", address=address)["conversation_id"]
        self.assertEqual(admin.patch(f"/conversations/{first}", {"state": "resolved"}).status, 200)
        second = s.inbound("faktura znowu", address=address)["conversation_id"]
        self.assertNotEqual(first, second, "a resolved conversation is not written into again")
        self.assertError(admin.patch(f"/conversations/{first}", {"state": "open"}), 409, "another_active_conversation")
        self.assertEqual(admin.get(f"/conversations/{first}").json["state"], "resolved")
        self.assertEqual(admin.patch(f"/conversations/{second}", {"state": "resolved"}).status, 200)
        self.assertEqual(admin.patch(f"/conversations/{first}", {"state": "open"}).json["state"], "open")


if __name__ == "__main__":
    unittest.main()
