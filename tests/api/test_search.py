"""GET /api/v1/search: Polish-aware search of all history (inflection, missing diacritics,
prefixes), customers by phone, e-mail and name, the caller's visibility, and hostile queries."""

import time
import unittest

from harness import ServiceTestCase, unique


class SearchTest(ServiceTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        s = cls.service
        cls.marker = unique("znacznik")  # a word only this class's messages carry
        m = cls.marker
        cls.outage = s.inbound(f"{m} Mamy awarię internetu od rana", name="Łukasz Żółkiewski")
        cls.order = s.inbound(f"{m} Jaki jest status mojego zamówienia?", address="Jan.Kowalski@Example.PL")
        cls.invoice = s.inbound(f"{m} Proszę o fakturę za marzec, faktura VAT")  # billing: anna, not piotr
        cls.phone = s.sms(f"{m} Przesyłki nie dotarły do Łodzi")
        cls.xss = s.inbound(f"{m} <img src=x onerror=alert(1)> zwrot pieniędzy", name="<script>alert(1)</script>")
        # Every message is searchable about a second after it is stored.
        deadline = time.time() + 15
        while time.time() < deadline:
            r = s.admin().get("/search", params={"q": m, "limit": 100})
            if r.status == 200 and len(r.json["items"]) >= 5:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the messages were not indexed in time: {r!r}")

    def found(self, q: str, client=None) -> set[str]:
        r = (client or self.service.admin()).get("/search", params={"q": f"{self.marker} {q}", "limit": 100})
        self.assertEqual(r.status, 200, r)
        return {item["message"]["id"] for item in r.json["items"]}

    def test_polish_queries_find_their_messages(self):
        phone_message = str(self.service.db.scalar(
            f"SELECT m.id FROM messages m WHERE m.body LIKE '{self.marker} Przesyłki%'"))
        cases = [
            # (query, the message it must find)
            ("awarii", self.outage["message_id"]),  # inflected query, inflected message: one stem
            ("awaria", self.outage["message_id"]),
            ("awarie", self.outage["message_id"]),  # without diacritics
            ("internet", self.outage["message_id"]),
            ("zamówienie", self.order["message_id"]),
            ("zamowienia", self.order["message_id"]),
            ("statusu zamówień", self.order["message_id"]),
            ("faktury", self.invoice["message_id"]),
            ("przesyłka", phone_message),
            ("łódź", phone_message),                # "Łodzi" in the message
            ("lodzi", phone_message),
            ("zwrot pieniędzy", self.xss["message_id"]),
            ("awar", self.outage["message_id"]),    # the last word as a prefix
        ]
        for q, message in cases:
            with self.subTest(q=q):
                self.assertIn(message, self.found(q))

    def test_what_must_not_match(self):
        self.assertNotIn(self.outage["message_id"], self.found("faktura"))
        self.assertEqual(self.found("zwrot towaru"), set(), "every word must match")
        self.assertEqual(self.found("kompletnieniewystępującesłowo"), set())

    def test_customers_by_phone_email_and_name(self):
        admin = self.service.admin()
        cases = {
            self.phone: "phone as received",
            self.phone.replace("+48", "").strip(): "a national number in the default region",
            self.phone[:3] + " " + self.phone[3:6] + " " + self.phone[6:9] + " " + self.phone[9:]: "with spaces",
            "jan.kowalski@example.pl": "an e-mail address in another case",
            "lukasz": "a first name without diacritics",
            "Żółkiewski": "a surname",
            "zolk": "the start of a surname",
        }
        ids = {
            "phone": self.service.db.scalar(f"SELECT customer_id FROM identities WHERE value = '{self.phone}'"),
            "order": self.service.db.scalar(
                f"SELECT c.customer_id FROM conversations c WHERE c.id = {self.order['conversation_id']}"),
            "outage": self.service.db.scalar(
                f"SELECT c.customer_id FROM conversations c WHERE c.id = {self.outage['conversation_id']}"),
        }
        for q, why in cases.items():
            with self.subTest(q=q, why=why):
                r = admin.get("/search", params={"q": q})
                self.assertEqual(r.status, 200, r)
                got = {c["id"] for c in r.json["customers"]}
                want = ids["phone"] if "phone" in why or "number" in why or "spaces" in why else (
                    ids["order"] if "@" in q else ids["outage"])
                self.assertIn(str(want), got)

    def test_an_agent_finds_only_what_they_may_see(self):
        s = self.service
        self.assertIn(self.invoice["message_id"], self.found("faktura", s.session("anna")))
        self.assertNotIn(self.invoice["message_id"], self.found("faktura", s.session("piotr")))
        self.assertIn(self.invoice["message_id"], self.found("faktura", s.session("boss")))

    def test_pages(self):
        admin = self.service.admin()
        seen = []
        cursor = None
        for _ in range(10):
            r = admin.get("/search", params={"q": self.marker, "limit": 2, "cursor": cursor})
            self.assertEqual(r.status, 200, r)
            seen += [i["message"]["id"] for i in r.json["items"]]
            if cursor:
                self.assertEqual(r.json["customers"], [])
            cursor = r.json["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(len(seen), 5)
        self.assertEqual(seen, sorted(seen, key=int, reverse=True), "newest first")

    def test_hostile_and_malformed_queries(self):
        admin = self.service.admin()
        for q in ("a:* & !b", "\\' OR 1=1 --", "<script>alert(1)</script>", "\u202eevil", "x' | !y"):
            with self.subTest(q=q):
                r = admin.get("/search", params={"q": q})
                self.assertEqual(r.status, 200, r)
        # The payload comes back as data, never as markup the API rewrote.
        r = admin.get("/search", params={"q": f"{self.marker} zwrot"})
        texts = [i["message"]["text"] for i in r.json["items"]]
        self.assertTrue(any("<img src=x onerror=alert(1)>" in t for t in texts))
        for params, why in (({}, "no q"), ({"q": ""}, "empty"), ({"q": " ,.!? "}, "no word"), ({"q": "' | !"}, "syntax only"), ({"q": "((( )))"}, "brackets"),
                            ({"q": "a" * 201}, "too long"), ({"q": "x", "cursor": "abc"}, "a cursor not handed out"),
                            ({"q": "x", "limit": 0}, "limit"), ({"q": "x", "sort": "y"}, "unknown parameter")):
            with self.subTest(why=why):
                self.assertError(admin.get("/search", params=params), 400)
        self.assertError(self.service.anonymous().get("/search", params={"q": "x"}), 401)


if __name__ == "__main__":
    unittest.main()
