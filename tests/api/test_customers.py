"""Customers: the detail, merging two into one, splitting an identity off, and attachments."""

import unittest
import urllib.parse

from harness import ServiceTestCase, unique


class CustomerTest(ServiceTestCase):
    def customer(self, queue="billing", **kw):
        address = f"{unique('klient-')}@example.pl"
        r = self.service.conversation_in(queue, address=address, **kw)
        return r["customer_id"], r["conversation_id"], address

    def test_detail(self):
        s = self.service
        cid, conv, address = self.customer("billing", name="Ewa Zielińska")
        r = s.admin().get(f"/customers/{cid}")
        self.assertEqual(r.status, 200, r)
        c = r.json
        self.assertEqual((c["id"], c["display_name"], c["merged_into"]), (cid, "Ewa Zielińska", None))
        self.assertEqual([(i["kind"], i["value"]) for i in c["identities"]], [("email", address)])
        self.assertEqual([(x["id"], x["state"], x["queue"]) for x in c["conversations"]], [(conv, "open", "billing")])
        self.assertEqual(s.session("anna").get(f"/customers/{cid}").status, 200)
        self.assertError(s.session("piotr").get(f"/customers/{cid}"), 404)

    def test_an_sms_opt_out_shows_on_the_customer(self):
        s = self.service
        phone = s.sms("Dzień dobry")
        cid = str(s.db.scalar(f"SELECT customer_id FROM identities WHERE kind = 'phone' AND value = '{phone}'"))
        self.assertEqual(s.admin().get(f"/customers/{cid}").json["opt_outs"], [])
        s.sms("STOP", phone=phone)
        s.wait_until(lambda: s.admin().get(f"/customers/{cid}").json["opt_outs"], what="the opt-out")
        [o] = s.admin().get(f"/customers/{cid}").json["opt_outs"]
        self.assertEqual((o["channel"], o["address"]), ("sms", phone))

    def test_an_agent_sees_only_the_conversations_they_may_see(self):
        s = self.service
        admin = s.admin()
        cid, first, address = self.customer("billing")
        self.assertEqual(admin.patch(f"/conversations/{first}", {"state": "resolved"}).status, 200)
        second = s.inbound("awaria sieci", address=address)["conversation_id"]
        self.assertEqual(s.db.scalar(f"SELECT queue FROM conversations WHERE id = {second}"), "tech")
        everything = {x["id"] for x in admin.get(f"/customers/{cid}").json["conversations"]}
        self.assertEqual(everything, {first, second})
        for login, visible in (("anna", {first}), ("piotr", {second})):
            with self.subTest(login):
                seen = {x["id"] for x in s.session(login).get(f"/customers/{cid}").json["conversations"]}
                self.assertEqual(seen, visible)

    def test_merge(self):
        s = self.service
        anna = s.session("anna")
        a, conv_a, address_a = self.customer("billing")
        b, conv_b, address_b = self.customer("general")
        r = anna.post(f"/customers/{a}/merge", {"customer_id": b})
        self.assertEqual(r.status, 200, r)
        survivor = r.json
        self.assertEqual(survivor["id"], a)
        self.assertIsNone(survivor["merged_into"])
        self.assertEqual({i["value"] for i in survivor["identities"]}, {address_a, address_b})
        self.assertTrue({conv_a, conv_b} <= {x["id"] for x in s.admin().get(f"/customers/{a}").json["conversations"]})
        absorbed = s.admin().get(f"/customers/{b}")
        self.assertEqual(absorbed.status, 200, absorbed)
        self.assertEqual(absorbed.json["merged_into"], a)
        self.assertEqual(absorbed.json["identities"], [])
        # The customer writes again from the absorbed address: the survivor's conversation.
        again = s.inbound("pytanie dodatkowe", address=address_b)
        self.assertEqual(again["customer_id"], a)
        # Mistakes. (Merging the absorbed one again is 409 for an admin; for an agent the absorbed
        # customer has no conversation left to see them by: 404.)
        self.assertError(s.admin().post(f"/customers/{a}/merge", {"customer_id": b}), 409)
        self.assertError(anna.post(f"/customers/{a}/merge", {"customer_id": b}), 404)
        self.assertError(anna.post(f"/customers/{a}/merge", {"customer_id": a}), 400, "merge_self")
        self.assertError(anna.post(f"/customers/{a}/merge", {"customer_id": "987654321"}), 404)
        self.assertError(anna.post("/customers/987654321/merge", {"customer_id": a}), 404)
        self.assertError(anna.post(f"/customers/{a}/merge", {}), 400, "missing_field")
        self.assertError(anna.post(f"/customers/{a}/merge", {"customer_id": 17}), 400)

    def test_split(self):
        s = self.service
        admin = s.admin()
        a, _, address_a = self.customer("billing")
        b, _, address_b = self.customer("billing")
        self.assertEqual(admin.post(f"/customers/{a}/merge", {"customer_id": b}).status, 200)
        r = s.session("anna").post(f"/customers/{a}/split", {"kind": "email", "value": address_b})
        self.assertEqual(r.status, 201, r)
        new = r.json
        self.assertEqual(new["customer_id"], new["id"])
        self.assertNotIn(new["id"], (a, b))
        self.assertEqual([(i["kind"], i["value"]) for i in new["identities"]], [("email", address_b)])
        self.assertIsNone(new["merged_into"])
        left = admin.get(f"/customers/{a}").json
        self.assertEqual([i["value"] for i in left["identities"]], [address_a])
        # A message from the split-off address belongs to the new customer.
        self.assertEqual(s.inbound("faktura", address=address_b)["customer_id"], new["id"])
        # Mistakes.
        self.assertError(admin.post(f"/customers/{a}/split", {"kind": "email", "value": address_a}), 400, "last_identity")
        self.assertError(admin.post(f"/customers/{a}/split", {"kind": "email", "value": "nikt@example.pl"}), 404)
        self.assertError(admin.post(f"/customers/{a}/split", {"kind": "email", "value": address_b}), 404)
        self.assertError(admin.post(f"/customers/{a}/split", {"kind": "email"}), 400, "missing_field")
        self.assertError(admin.post(f"/customers/{a}/split", {"kind": "carrier pigeon", "value": address_a}), 400)


class AttachmentTest(ServiceTestCase):
    def test_kept_bytes_are_downloaded_and_others_are_not(self):
        s = self.service
        r = s.inbound("faktura w załączniku", attachments=[
            {"url": "https://sklep.example/a.pdf", "mime_type": "application/pdf", "name": "faktura 12/2026 – korekta.pdf", "size": 9},
            {"url": "https://sklep.example/b.png", "mime_type": "image/png", "name": "zdjęcie.png", "size": 4}])
        message = r["message_id"]
        s.db.execute("INSERT INTO attachment_contents (message_id, position, bytes) "
                     f"VALUES ({int(message)}, 0, convert_to('%PDF-1.7\n', 'UTF8'))")
        history = s.admin().get(f"/conversations/{r['conversation_id']}/messages").json
        m = [x for x in history["messages"] if x["id"] == message][0]
        first, second = m["attachments"]
        self.assertEqual((first["name"], first["mime_type"], first["size"], first["url"]),
                         ("faktura 12/2026 – korekta.pdf", "application/pdf", 9, "https://sklep.example/a.pdf"))
        self.assertEqual(first["download"], f"/api/v1/messages/{message}/attachments/0")
        self.assertIsNone(second["download"], "its bytes were not kept")

        for role, client in s.roles().items():
            with self.subTest(role):
                d = client.get(f"/messages/{message}/attachments/0")
                self.assertEqual(d.status, 200, d)
                self.assertEqual(d.body, b"%PDF-1.7\n")
                self.assertEqual(d.headers["content-type"].split(";")[0], "application/pdf")
                disposition = d.headers["content-disposition"]
                self.assertTrue(disposition.startswith("attachment"))
                encoded = disposition.split("filename*=UTF-8''", 1)[1].split(";")[0]
                self.assertEqual(urllib.parse.unquote(encoded), "faktura 12/2026 – korekta.pdf")
        self.assertError(s.admin().get(f"/messages/{message}/attachments/1"), 404)
        self.assertError(s.admin().get(f"/messages/{message}/attachments/2"), 404)
        self.assertError(s.session("piotr").get(f"/messages/{message}/attachments/0"), 404)


if __name__ == "__main__":
    unittest.main()
