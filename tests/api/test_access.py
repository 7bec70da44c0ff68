"""Every endpoint for every kind of caller: who may, who gets 401, 403 or 404, CSRF, bad JSON.

The callers: the config admin token, an admin's session (boss), an agent's session (anna) and an
agent's personal token (anna). anna works the queue `billing`; `tech` lists only piotr, so its
conversations (and their customers and attachments) do not exist for anna: 404, like an id
that does not exist, never 403. Admin-only operations answer an agent 403 `admin_only`.
"""

import unittest
from dataclasses import dataclass
from typing import Callable, Optional

from harness import PASSWORDS, QUEUE_WORD, UPGRADE_HEADERS, ServiceTestCase, Stream, unique

MISSING = "987654321"
ROLES = ("admin token", "admin session", "agent session", "agent token")


@dataclass
class Endpoint:
    name: str
    make: Callable[[str], tuple]  # scope ('visible', 'hidden', 'missing') -> (method, path, body)
    ok: int
    admin_only: bool = False
    scoped: bool = True  # a conversation, customer or message the caller may or may not see
    json_error: Optional[str] = None  # the code of a body that is not JSON, when the design names it


class AccessTest(ServiceTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.service
        cls.convs = {}
        cls.customers = {}
        for scope, queue in (("visible", "billing"), ("hidden", "tech")):
            r = s.conversation_in(queue, "stan konta")
            cls.convs[scope] = r["conversation_id"]
            cls.customers[scope] = r["customer_id"]
        cls.convs["missing"] = cls.customers["missing"] = MISSING
        cls.attachments = {scope: cls.kept_attachment(queue) for scope, queue in (("visible", "billing"), ("hidden", "tech"))}
        cls.attachments["missing"] = MISSING

    @classmethod
    def kept_attachment(cls, queue):
        """A message with an attachment whose bytes are kept (as the e-mail channel keeps them)."""
        r = cls.service.inbound(f"{QUEUE_WORD[queue]} w załączniku", attachments=[
            {"url": "https://sklep.example/p.png", "mime_type": "image/png", "name": "paragon zakupu.png", "size": 8}])
        cls.service.db.execute("INSERT INTO attachment_contents (message_id, position, bytes) "
                               f"VALUES ({int(r['message_id'])}, 0, '\\x89504e470d0a1a0a'::bytea)")
        return r["message_id"]

    # Fresh data for the operations that consume it.

    def pair(self, scope):
        """Two customers with conversations in the scope's queue: (survivor, other, other's address)."""
        queue = {"visible": "billing", "hidden": "tech"}[scope]
        address = f"{unique('drugi-')}@example.pl"
        a = self.service.conversation_in(queue)["customer_id"]
        b = self.service.conversation_in(queue, address=address)["customer_id"]
        return a, b, address

    def merge_case(self, scope):
        if scope == "missing":
            return "POST", f"/customers/{MISSING}/merge", {"customer_id": self.customers["visible"]}
        a, b, _ = self.pair(scope)
        return "POST", f"/customers/{a}/merge", {"customer_id": b}

    def split_case(self, scope):
        if scope == "missing":
            return "POST", f"/customers/{MISSING}/split", {"kind": "email", "value": "nikt@example.pl"}
        a, b, address = self.pair(scope)
        merged = self.service.admin().post(f"/customers/{a}/merge", {"customer_id": b})
        self.assertEqual(merged.status, 200, merged)
        return "POST", f"/customers/{a}/split", {"kind": "email", "value": address}

    def revoke_case(self, scope):
        token = self.service.admin().post("/people/zofia/tokens", {"name": unique("do odwołania ")})
        self.assertEqual(token.status, 201, token)
        return "DELETE", f"/tokens/{token.json['id']}", None

    def endpoints(self):
        conv = self.convs
        cust = self.customers
        att = self.attachments
        reply = {"text": "Dzień dobry, sprawdzamy to."}
        return [
            Endpoint("list conversations", lambda sc: ("GET", "/conversations", None), 200, scoped=False),
            Endpoint("get conversation", lambda sc: ("GET", f"/conversations/{conv[sc]}", None), 200),
            Endpoint("change conversation", lambda sc: ("PATCH", f"/conversations/{conv[sc]}", {"priority": "high"}),
                     200, json_error="invalid_json"),
            Endpoint("history", lambda sc: ("GET", f"/conversations/{conv[sc]}/messages", None), 200),
            Endpoint("reply", lambda sc: ("POST", f"/conversations/{conv[sc]}/messages", reply), 201,
                     json_error="invalid_json"),
            Endpoint("reply preview", lambda sc: ("POST", f"/conversations/{conv[sc]}/reply-preview", reply), 200,
                     json_error="invalid_json"),
            Endpoint("note", lambda sc: ("POST", f"/conversations/{conv[sc]}/notes", {"text": "Klient VIP."}), 201,
                     json_error="invalid_json"),
            Endpoint("customer", lambda sc: ("GET", f"/customers/{cust[sc]}", None), 200),
            Endpoint("merge", self.merge_case, 200, json_error="invalid_json"),
            Endpoint("split", self.split_case, 201, json_error="invalid_json"),
            Endpoint("attachment", lambda sc: ("GET", f"/messages/{att[sc]}/attachments/0", None), 200),
            Endpoint("queues", lambda sc: ("GET", "/queues", None), 200, scoped=False),
            Endpoint("people", lambda sc: ("GET", "/people", None), 200, scoped=False),
            Endpoint("who am I", lambda sc: ("GET", "/session", None), 200, scoped=False),
            Endpoint("set password", lambda sc: ("PUT", "/people/zofia/password", {"password": PASSWORDS["zofia"]}),
                     204, admin_only=True, scoped=False, json_error="invalid_json"),
            Endpoint("create token", lambda sc: ("POST", "/people/zofia/tokens", {"name": unique("skrypt ")}), 201,
                     admin_only=True, scoped=False),
            Endpoint("list tokens", lambda sc: ("GET", "/people/zofia/tokens", None), 200, admin_only=True,
                     scoped=False),
            Endpoint("revoke token", self.revoke_case, 204, admin_only=True, scoped=False),
        ]

    def call(self, client, endpoint, scope="visible"):
        method, path, body = endpoint.make(scope)
        return client.request(method, path, body)

    # --- the matrix ---

    def test_every_endpoint_for_every_role(self):
        roles = self.service.roles()
        for endpoint in self.endpoints():
            for role in ROLES:
                with self.subTest(endpoint=endpoint.name, role=role):
                    r = self.call(roles[role], endpoint)
                    if endpoint.admin_only and role.startswith("agent"):
                        self.assertError(r, 403, "admin_only")
                    else:
                        self.assertEqual(r.status, endpoint.ok, r)

    def test_what_an_agent_may_not_see_does_not_exist(self):
        roles = self.service.roles()
        for endpoint in self.endpoints():
            if not endpoint.scoped:
                continue
            with self.subTest(endpoint=endpoint.name):
                missing = self.call(roles["admin token"], endpoint, "missing")
                self.assertError(missing, 404)
                for role in ("agent session", "agent token"):
                    hidden = self.call(roles[role], endpoint, "hidden")
                    self.assertError(hidden, 404, missing.error_code)
                for role in ("admin token", "admin session"):
                    self.assertEqual(self.call(roles[role], endpoint, "hidden").status, endpoint.ok)

    def test_merging_with_a_customer_the_agent_may_not_see(self):
        anna = self.service.session("anna")
        mine, _, _ = self.pair("visible")
        theirs, _, _ = self.pair("hidden")
        self.assertError(anna.post(f"/customers/{mine}/merge", {"customer_id": theirs}), 404)
        self.assertError(anna.post(f"/customers/{mine}/merge", {"customer_id": MISSING}), 404)

    def test_agents_see_unqueued_conversations_open_queues_and_their_own(self):
        s = self.service
        unqueued = s.conversation_in(None)["conversation_id"]
        open_queue = s.conversation_in("general")["conversation_id"]
        assigned = s.conversation_in("tech")["conversation_id"]
        self.assertEqual(s.admin().patch(f"/conversations/{assigned}", {"assignee": "anna"}).status, 200)
        for role in ("agent session", "agent token"):
            anna = s.roles()[role]
            for conv in (unqueued, open_queue, assigned):
                with self.subTest(role=role, conversation=conv):
                    self.assertEqual(anna.get(f"/conversations/{conv}").status, 200)
                    self.assertEqual(anna.get(f"/conversations/{conv}/messages").status, 200)
        piotr = s.session("piotr")
        self.assertEqual(piotr.get(f"/conversations/{assigned}").status, 200)  # his queue still
        self.assertError(piotr.get(f"/conversations/{self.convs['visible']}"), 404)

    # --- failures every endpoint shares ---

    def test_no_credentials(self):
        s = self.service
        for endpoint in self.endpoints():
            for name, client in (("none", s.anonymous()), ("unknown bearer", s.bearer("nope")),
                                 ("unknown cookie", s.anonymous().but(cookie="sb_session=" + "z" * 43, csrf="x"))):
                with self.subTest(endpoint=endpoint.name, credentials=name):
                    r = self.call(client, endpoint, "missing")
                    self.assertError(r, 401)
                    self.assertTrue(r.headers["www-authenticate"].lower().startswith("bearer"))

    def test_changes_with_a_session_need_the_csrf_token(self):
        s = self.service
        for endpoint in self.endpoints():
            method = endpoint.make("missing")[0]
            if method == "GET":
                continue
            for login in ("boss", "anna"):
                with self.subTest(endpoint=endpoint.name, login=login):
                    session = s.session(login)
                    self.assertError(self.call(session.but(send_csrf=False), endpoint, "missing"), 403, "csrf")
                    self.assertError(self.call(session.but(csrf="wrong"), endpoint, "missing"), 403, "csrf")
        # Refused before anything happens.
        conv = self.convs["visible"]
        before = s.db.scalar(f"SELECT count(*) FROM notes WHERE conversation_id = {conv}")
        anna = s.session("anna").but(send_csrf=False)
        self.assertError(anna.post(f"/conversations/{conv}/notes", {"text": "bez tokenu"}), 403, "csrf")
        self.assertError(anna.patch(f"/conversations/{conv}", {"state": "pending"}), 403, "csrf")
        self.assertEqual(s.db.scalar(f"SELECT count(*) FROM notes WHERE conversation_id = {conv}"), before)
        self.assertEqual(s.db.scalar(f"SELECT state FROM conversations WHERE id = {conv}"), "open")
        # Bearer tokens need no CSRF token.
        self.assertEqual(s.person_token("anna").post(f"/conversations/{conv}/notes", {"text": "z tokenem"}).status, 201)

    def test_bodies_that_are_not_json(self):
        admin = self.service.admin()
        for endpoint in self.endpoints():
            method, path, body = endpoint.make("visible")
            if body is None:
                continue
            for raw in (b'{"text": "ni', b"text=hello", b"\xff\xfe{}"):
                with self.subTest(endpoint=endpoint.name, body=raw):
                    r = admin.request(method, path, data=raw, content_type="application/json")
                    self.assertError(r, 400)
                    if endpoint.json_error and raw != b"\xff\xfe{}":
                        self.assertEqual(r.error_code, endpoint.json_error, r)

    def test_bodies_over_the_limit(self):
        s = self.service
        big = {"text": "x" * (1024 * 1024 + 1), "name": "", "password": "", "customer_id": "1"}
        callers = [(s.admin(), e.make("missing")) for e in self.endpoints() if e.make("missing")[2] is not None]
        callers += [(s.anonymous(), ("POST", "/session", None)), (s.shop(), ("POST", "/inbound", None))]
        for client, (method, path, _) in callers:
            with self.subTest(path=path):
                r = client.request(method, path, big)
                self.assertError(r, 413)
                self.assertEqual(r.headers.get("connection", "").lower(), "close")

    def test_missing_ids_are_404_for_admins(self):
        admin = self.service.admin()
        for endpoint in self.endpoints():
            if endpoint.scoped:
                with self.subTest(endpoint=endpoint.name):
                    self.assertError(self.call(admin, endpoint, "missing"), 404)
        for path in ("/conversations/abc", "/conversations/-1", f"/messages/{self.attachments['visible']}/attachments/7",
                     f"/conversations/{MISSING}/messages"):
            with self.subTest(path=path):
                self.assertError(admin.get(path), 404)


class StreamAccessTest(ServiceTestCase):
    def test_every_role_may_open_the_stream(self):
        for role, client in self.service.roles().items():
            with self.subTest(role):
                stream = Stream(client)
                stream.close()

    def test_refused_before_the_upgrade(self):
        s = self.service
        for name, client in (("none", s.anonymous()), ("unknown bearer", s.bearer("nope")),
                             ("unknown cookie", s.anonymous().but(cookie="sb_session=" + "q" * 43))):
            with self.subTest(name):
                r = client.get("/stream", headers=UPGRADE_HEADERS)
                self.assertError(r, 401)
                self.assertNotIn("upgrade", r.headers)

    def test_not_an_upgrade_and_bad_since(self):
        admin = self.service.admin()
        self.assertEqual(admin.get("/stream").status, 426)
        for since in ("abc", "-1", "1.5", "+3"):
            with self.subTest(since=since):
                self.assertError(admin.get("/stream", params={"since": since}, headers=UPGRADE_HEADERS), 400,
                                 "invalid_parameter")


class InboundTest(ServiceTestCase):
    def test_inbound_answers(self):
        s = self.service
        body = {"external_id": unique("e-"), "from": {"address": "jan@example.pl", "name": "Jan"}, "text": "faktura"}
        first = s.shop().post("/inbound", body)
        self.assertEqual(first.status, 200, first)
        self.assertFalse(first.json["duplicate"])
        again = s.shop().post("/inbound", body)
        self.assertEqual(again.status, 200)
        self.assertTrue(again.json["duplicate"])
        self.assertEqual(again.json["message_id"], first.json["message_id"])
        self.assertError(s.shop().post("/inbound", dict(body, text="inna treść")), 409)
        self.assertError(s.anonymous().post("/inbound", body), 401)
        self.assertError(s.bearer("nope").post("/inbound", body), 401)
        self.assertError(s.shop().post("/inbound", data=b"{", content_type="application/json"), 400)
        self.assertError(s.shop().post("/inbound", {"external_id": "x", "text": "brak nadawcy"}), 400)
        other = s.bearer("api-test-other-token")
        self.assertError(other.post("/inbound", dict(body, account="shop", external_id=unique("e-"))), 403)
        # An admin token is not an account token.
        self.assertError(s.admin().post("/inbound", dict(body, external_id=unique("e-"))), 401)


if __name__ == "__main__":
    unittest.main()
