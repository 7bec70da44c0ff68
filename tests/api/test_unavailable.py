"""With the database gone, every operation that needs it answers 503 with Retry-After (never 500,
never a wrong 401), and the daemon serves again once the database is back."""

import unittest

from harness import ServiceTestCase


class DatabaseDownTest(ServiceTestCase):
    def test_every_operation_answers_503_while_the_database_is_down(self):
        s = self.service
        r = s.conversation_in("billing", attachments=[{"url": "https://sklep.example/a.png", "name": "a.png"}])
        conv, customer, message = r["conversation_id"], r["customer_id"], r["message_id"]
        other = s.conversation_in("billing")["customer_id"]
        anna = s.session("anna")
        token = s.person_token("anna")
        admin = s.admin()
        calls = [
            ("GET", "/conversations", None), ("GET", f"/conversations/{conv}", None),
            ("PATCH", f"/conversations/{conv}", {"priority": "low"}), ("GET", f"/conversations/{conv}/messages", None),
            ("POST", f"/conversations/{conv}/messages", {"text": "Dzień dobry"}),
            ("POST", f"/conversations/{conv}/reply-preview", {"text": "Dzień dobry"}),
            ("POST", f"/conversations/{conv}/notes", {"text": "notatka"}), ("GET", f"/customers/{customer}", None),
            ("POST", f"/customers/{customer}/merge", {"customer_id": other}),
            ("POST", f"/customers/{customer}/split", {"kind": "email", "value": "x@example.pl"}),
            ("GET", f"/messages/{message}/attachments/0", None),
            ("PUT", "/people/zofia/password", {"password": "hasło zofii na później"}),
            ("POST", "/people/zofia/tokens", {"name": "x"}), ("GET", "/people/zofia/tokens", None),
            ("DELETE", "/tokens/1", None),
        ]
        # Answered from the rules file and the config alone: they may keep working.
        without_database = [("GET", "/queues", None), ("GET", "/people", None), ("GET", "/session", None)]
        s.block_database()
        try:
            for method, path, body in calls:
                with self.subTest(method=method, path=path):
                    self.assertError(admin.request(method, path, body), 503)
            for method, path, body in without_database:
                with self.subTest(method=method, path=path):
                    self.assertIn(admin.request(method, path, body).status, (200, 503))
            for name, client in (("session", anna), ("personal token", token)):
                with self.subTest(caller=name):
                    self.assertError(client.get("/session"), 503)
            self.assertError(s.anonymous().post("/session", {"login": "anna", "password": "cokolwiek-123"}), 503)
            self.assertError(anna.delete("/session"), 503)
            self.assertError(s.shop().post("/inbound", {"external_id": "down-1", "from": {"address": "a@b.pl"},
                                                        "text": "faktura"}), 503)
        finally:
            s.unblock_database()
        self.assertEqual(anna.get(f"/conversations/{conv}").status, 200)
        self.assertEqual(admin.post(f"/conversations/{conv}/notes", {"text": "po awarii"}).status, 201)


if __name__ == "__main__":
    unittest.main()
