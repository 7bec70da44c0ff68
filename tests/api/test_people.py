"""Queues, people, and passwords set by an admin."""

import unittest

from harness import PASSWORDS, PEOPLE, QUEUES, ServiceTestCase


class PeopleTest(ServiceTestCase):
    def test_queues_as_the_rules_file_says(self):
        for role, client in self.service.roles().items():
            with self.subTest(role):
                r = client.get("/queues")
                self.assertEqual(r.status, 200, r)
                self.assertIsNone(r.json["next_cursor"])
                got = {q["name"]: sorted(q["people"]) for q in r.json["items"]}
                self.assertEqual(got, {name: sorted(people) for name, people in QUEUES.items()})

    def test_templates_as_the_rules_file_says(self):
        for role, client in self.service.roles().items():
            with self.subTest(role):
                r = client.get("/templates")
                self.assertEqual(r.status, 200, r)
                got = {t["name"]: t["text"] for t in r.json["items"]}
                self.assertEqual(got["thanks"], "Dziękujemy za pytanie, odpowiemy wkrótce.")
                self.assertIn("{{customer.first_name", got["greeting"])
                self.assertEqual([t["name"] for t in r.json["items"]], sorted(got))
        self.assertError(self.service.anonymous().get("/templates"), 401)

    def test_people_as_the_rules_file_says(self):
        for role, client in self.service.roles().items():
            with self.subTest(role):
                r = client.get("/people")
                self.assertEqual(r.status, 200, r)
                self.assertIsNone(r.json["next_cursor"])
                got = {p["login"]: p for p in r.json["items"]}
                self.assertEqual(set(got), set(PEOPLE))
                for login, person in PEOPLE.items():
                    self.assertEqual((got[login]["name"], got[login]["role"]), (person["name"], person["role"]))
                    listed = {q for q, people in QUEUES.items() if login in people}
                    self.assertTrue(listed <= set(got[login]["queues"]), got[login])
                    hidden = {q for q, people in QUEUES.items() if people and login not in people}
                    self.assertFalse(hidden & set(got[login]["queues"]), got[login])
                self.assertNotIn("password", r.text)

    def test_an_admin_sets_a_password(self):
        s = self.service
        old_session = s.sign_in("zofia")
        new_password = "nowe hasło Zofii 2027"
        for role in ("agent session", "agent token"):
            with self.subTest(role):
                self.assertError(s.roles()[role].put("/people/zofia/password", {"password": new_password}), 403, "admin_only")
        self.assertError(s.session("boss").but(send_csrf=False).put("/people/zofia/password", {"password": new_password}),
                         403, "csrf")
        r = s.session("boss").put("/people/zofia/password", {"password": new_password})
        self.assertEqual(r.status, 204, r)
        self.assertError(old_session.get("/session"), 401)
        self.assertError(s.anonymous().post("/session", {"login": "zofia", "password": PASSWORDS["zofia"]}), 401,
                         "invalid_credentials")
        self.assertEqual(s.sign_in("zofia", password=new_password).get("/session").status, 200)
        # Back, with the admin token.
        self.assertEqual(s.admin().put("/people/zofia/password", {"password": PASSWORDS["zofia"]}).status, 204)
        self.assertEqual(s.sign_in("zofia").get("/session").status, 200)

    def test_password_mistakes(self):
        admin = self.service.admin()
        self.assertError(admin.put("/people/nikt/password", {"password": "dość długie hasło"}), 404)
        self.assertError(admin.put("/people/zofia/password", {"password": "krótkie"}), 400, "password_too_short")
        self.assertError(admin.put("/people/zofia/password", {"password": "x" * 1025}), 400, "password_too_long")
        self.assertError(admin.put("/people/zofia/password", {}), 400, "missing_field")
        self.assertError(admin.put("/people/zofia/password", {"password": 1234567890123}), 400)
        self.assertEqual(self.service.sign_in("zofia").get("/session").status, 200, "unchanged")


if __name__ == "__main__":
    unittest.main()
