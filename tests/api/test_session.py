"""Signing in and out, who is calling, personal API tokens, and the served description."""

import unittest

import harness
from harness import ADMIN_TOKEN, PASSWORDS, PEOPLE, ServiceTestCase


class SessionTest(ServiceTestCase):
    def test_sign_in_answers_the_person_a_csrf_token_and_the_cookie(self):
        r = self.service.anonymous().post("/session", {"login": "anna", "password": PASSWORDS["anna"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["person"], {**r.json["person"], "login": "anna", "name": "Anna Nowak", "role": "agent"})
        self.assertGreaterEqual(len(r.json["csrf_token"]), 32)
        cookie = r.headers["set-cookie"]
        attributes = [a.strip() for a in cookie.split(";")]
        self.assertTrue(attributes[0].startswith("sb_session=") and len(attributes[0]) > len("sb_session=") + 30)
        self.assertIn("HttpOnly", attributes)
        self.assertIn("SameSite=Strict", attributes)
        self.assertIn("Path=/", attributes)
        self.assertNotIn("Secure", attributes)  # the public URL is http here
        # Each sign-in is a new session with its own tokens.
        again = self.service.anonymous().post("/session", {"login": "anna", "password": PASSWORDS["anna"]})
        self.assertNotEqual(again.headers["set-cookie"].split(";")[0], attributes[0])
        self.assertNotEqual(again.json["csrf_token"], r.json["csrf_token"])

    def test_a_wrong_password_and_an_unknown_login_get_the_same_answer(self):
        anonymous = self.service.anonymous()
        wrong = anonymous.post("/session", {"login": "anna", "password": "to-nie-jest-hasło"})
        unknown = anonymous.post("/session", {"login": "nikt", "password": PASSWORDS["anna"]})
        self.assertError(wrong, 401, "invalid_credentials")
        self.assertEqual(wrong.body, unknown.body)
        self.assertEqual(wrong.status, unknown.status)
        self.assertNotIn("set-cookie", wrong.headers)
        self.assertNotIn("set-cookie", unknown.headers)

    def test_malformed_sign_ins(self):
        anonymous = self.service.anonymous()
        self.assertError(anonymous.post("/session", data=b'{"login": "anna", ', content_type="application/json"), 400)
        self.assertError(anonymous.post("/session", {"login": "anna"}), 400)
        self.assertError(anonymous.post("/session", {"login": "anna", "password": 12345678901}), 400)
        self.assertError(anonymous.post("/session", ["anna", PASSWORDS["anna"]]), 400)

    def test_who_is_calling_for_every_kind_of_caller(self):
        for role, client in self.service.roles().items():
            with self.subTest(role):
                r = client.get("/session")
                self.assertEqual(r.status, 200, r)
                person = r.json["person"]
                if role == "admin token":
                    self.assertEqual((person["login"], person["role"]), ("admin-token", "admin"))
                else:
                    login = "boss" if role.startswith("admin") else "anna"
                    self.assertEqual(person["login"], login)
                    self.assertEqual(person["name"], PEOPLE[login]["name"])
                    self.assertEqual(person["role"], PEOPLE[login]["role"])

    def test_no_or_unknown_credentials(self):
        service = self.service
        cases = {
            "nothing": service.anonymous(),
            "unknown bearer": service.bearer("not-a-token"),
            "unknown personal token": service.bearer("sbp_" + "x" * 43),
            "unknown cookie": service.anonymous().but(cookie="sb_session=" + "y" * 43),
            "empty cookie": service.anonymous().but(cookie="sb_session="),
        }
        for name, client in cases.items():
            with self.subTest(name):
                r = client.get("/session")
                self.assertError(r, 401)
                self.assertEqual(r.headers.get("www-authenticate", "").split(" ")[0].lower(), "bearer")
        # The scheme is case-insensitive.
        r = service.anonymous().get("/session", headers={"Authorization": "bearer " + ADMIN_TOKEN})
        self.assertEqual(r.status, 200, r)

    def test_signing_out_needs_the_csrf_token_and_ends_only_that_session(self):
        first = self.service.sign_in("piotr")
        second = self.service.sign_in("piotr")
        self.assertError(first.but(send_csrf=False).delete("/session"), 403, "csrf")
        self.assertError(first.but(csrf="not-the-token").delete("/session"), 403, "csrf")
        self.assertError(first.but(csrf=second.csrf).delete("/session"), 403, "csrf")  # another session's token
        self.assertEqual(first.get("/session").status, 200)  # still signed in
        r = first.delete("/session")
        self.assertEqual(r.status, 204, r)
        self.assertIn("max-age=0", r.headers.get("set-cookie", "").replace(" ", "").lower())
        self.assertError(first.get("/session"), 401)
        self.assertError(first.delete("/session"), 401)
        self.assertEqual(second.get("/session").status, 200)

    def test_signing_out_is_for_sessions(self):
        self.assertError(self.service.admin().delete("/session"), 401)
        self.assertError(self.service.anonymous().delete("/session"), 401)


class LoginLimitTest(ServiceTestCase):
    def test_failed_sign_ins_are_limited_per_login(self):
        anonymous = self.service.anonymous()
        for n in range(10):  # auth.login_failures.per_login in the harness's config
            self.assertError(anonymous.post("/session", {"login": "piotr", "password": f"zgaduję-{n}-haslo"}), 401,
                             "invalid_credentials")
        limited = anonymous.post("/session", {"login": "piotr", "password": PASSWORDS["piotr"]})
        self.assertError(limited, 429, "too_many_attempts")
        self.assertGreater(int(limited.headers["retry-after"]), 0)
        # Another login from the same address is not limited by piotr's failures.
        self.assertEqual(anonymous.post("/session", {"login": "anna", "password": PASSWORDS["anna"]}).status, 200)


class TokenTest(ServiceTestCase):
    def test_an_admin_creates_lists_uses_and_revokes_a_token(self):
        for role in ("admin token", "admin session"):
            with self.subTest(role):
                admin = self.service.roles()[role]
                r = admin.post("/people/piotr/tokens", {"name": f"skrypt raportów ({role})"})
                self.assertEqual(r.status, 201, r)
                created = r.json
                self.assertTrue(created["token"].startswith("sbp_"))
                self.assertEqual((created["login"], created["name"]), ("piotr", f"skrypt raportów ({role})"))
                self.assertIsNone(created["last_used_at"])

                listed = admin.get("/people/piotr/tokens")
                self.assertEqual(listed.status, 200, listed)
                self.assertIsNone(listed.json["next_cursor"])
                mine = [t for t in listed.json["items"] if t["id"] == created["id"]]
                self.assertEqual(len(mine), 1)
                self.assertNotIn("token", mine[0])
                self.assertNotIn(created["token"], listed.text)

                as_piotr = self.service.bearer(created["token"])
                me = as_piotr.get("/session")
                self.assertEqual(me.status, 200, me)
                self.assertEqual((me.json["person"]["login"], me.json["person"]["role"]), ("piotr", "agent"))
                used = [t for t in admin.get("/people/piotr/tokens").json["items"] if t["id"] == created["id"]]
                self.assertIsNotNone(used[0]["last_used_at"])

                self.assertEqual(admin.delete(f"/tokens/{created['id']}").status, 204)
                self.assertError(as_piotr.get("/session"), 401)
                self.assertError(admin.delete(f"/tokens/{created['id']}"), 404)
                ids = [t["id"] for t in admin.get("/people/piotr/tokens").json["items"]]
                self.assertNotIn(created["id"], ids)

    def test_agents_may_not_manage_tokens(self):
        admin = self.service.admin()
        target = admin.post("/people/zofia/tokens", {"name": "do odwołania"}).json["id"]
        for role in ("agent session", "agent token"):
            agent = self.service.roles()[role]
            with self.subTest(role):
                self.assertError(agent.post("/people/anna/tokens", {"name": "sama sobie"}), 403, "admin_only")
                self.assertError(agent.get("/people/anna/tokens"), 403, "admin_only")
                self.assertError(agent.delete(f"/tokens/{target}"), 403, "admin_only")
        self.assertEqual(admin.delete(f"/tokens/{target}").status, 204)

    def test_mistakes(self):
        admin = self.service.admin()
        self.assertError(admin.post("/people/nikt/tokens", {"name": "x"}), 404)
        self.assertError(admin.delete("/tokens/987654321"), 404)
        self.assertError(admin.post("/people/anna/tokens", {}), 400)
        self.assertError(admin.post("/people/anna/tokens", {"name": ""}), 400)
        self.assertError(admin.post("/people/anna/tokens", {"name": "x" * 201}), 400)
        self.assertError(admin.post("/people/anna/tokens", data=b"name=x", content_type="application/json"), 400)

    def test_csrf_and_credentials(self):
        boss = self.service.session("boss")
        self.assertError(boss.but(send_csrf=False).post("/people/anna/tokens", {"name": "bez csrf"}), 403, "csrf")
        token = self.service.admin().post("/people/anna/tokens", {"name": "do usunięcia"}).json
        self.assertError(boss.but(send_csrf=False).delete(f"/tokens/{token['id']}"), 403, "csrf")
        self.assertEqual(boss.delete(f"/tokens/{token['id']}").status, 204)
        self.assertError(self.service.anonymous().post("/people/anna/tokens", {"name": "x"}), 401)
        self.assertError(self.service.anonymous().get("/people/anna/tokens"), 401)
        self.assertError(self.service.anonymous().delete("/tokens/1"), 401)


class TokenRoleFollowsTheRulesTest(ServiceTestCase):
    def test_a_token_acts_with_the_role_the_rules_give_now(self):
        anna = self.service.person_token("anna")
        self.assertError(anna.get("/people/piotr/tokens"), 403, "admin_only")
        promoted = harness.RULES.replace("anna: { name: Anna Nowak, role: agent", "anna: { name: Anna Nowak, role: admin")
        self.assertNotEqual(promoted, harness.RULES)
        self.service.daemon().reload_rules(promoted)
        try:
            self.assertEqual(anna.get("/people/piotr/tokens").status, 200)
            self.assertEqual(anna.get("/session").json["person"]["role"], "admin")
        finally:
            self.service.daemon().reload_rules(harness.RULES)
        # An agent again: the token acts as one, or (the daemon's choice) was revoked with the demotion.
        demoted = anna.get("/people/piotr/tokens")
        self.assertIn(demoted.status, (401, 403), demoted)
        if demoted.status == 403:
            self.assertEqual(demoted.error_code, "admin_only")
        # A person who leaves the rules file loses their tokens and sessions with them.
        session = self.service.sign_in("zofia")
        token = self.service.person_token("zofia")
        without = harness.RULES.replace("  zofia: { name: Zofia Kowalczyk, role: agent }\n", "")
        self.service.daemon().reload_rules(without)
        try:
            self.assertError(session.get("/session"), 401)
            self.assertError(token.get("/session"), 401)
        finally:
            self.service.daemon().reload_rules(harness.RULES)


class DescriptionServedTest(ServiceTestCase):
    def test_the_daemon_serves_this_description_without_auth(self):
        r = self.service.anonymous().get("/openapi.yaml")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, (harness.SOURCE_DIR / "daemon" / "api" / "openapi.yaml").read_bytes())


if __name__ == "__main__":
    unittest.main()
