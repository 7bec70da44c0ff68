"""The description itself, and the checker that every other test relies on."""

import json
import unittest

from openapi_check import Mismatch, OpenApi

ERROR = b'{"error":{"code":"not_found","message":"no conversation with id \'5\'"}}'


def conversation(**changes):
    c = {"id": "1", "customer_id": "2", "customer": {"id": "2", "display_name": "Jan Kowalski"},
         "state": "open", "queue": None, "assignee": None, "priority": "normal", "tags": [],
         "opened_at": "2026-12-07T23:30:00.123456Z", "last_message_at": "2026-12-07T23:30:00Z",
         "waiting_since": None, "first_response_at": None, "resolved_at": None, "last_channel": "api", "unread": 0}
    c.update(changes)
    return c


class DescriptionTest(unittest.TestCase):
    def setUp(self):
        self.api = OpenApi()

    def test_no_problems(self):
        self.assertEqual(self.api.problems(), [])

    def test_version_and_base_path(self):
        self.assertEqual(self.api.document["openapi"], "3.1.0")
        self.assertEqual(self.api.base_path, "/api/v1")

    def test_every_operation_of_the_design(self):
        wanted = {
            ("post", "/inbound"), ("post", "/session"), ("get", "/session"), ("delete", "/session"),
            ("get", "/conversations"), ("get", "/conversations/{id}"), ("patch", "/conversations/{id}"),
            ("get", "/conversations/{id}/messages"), ("post", "/conversations/{id}/messages"),
            ("post", "/conversations/{id}/reply-preview"), ("post", "/conversations/{id}/notes"),
            ("get", "/customers/{id}"), ("post", "/customers/{id}/merge"), ("post", "/customers/{id}/split"),
            ("get", "/messages/{id}/attachments/{index}"), ("get", "/queues"), ("get", "/people"),
            ("put", "/people/{login}/password"), ("post", "/people/{login}/tokens"),
            ("get", "/people/{login}/tokens"), ("delete", "/tokens/{id}"), ("get", "/openapi.yaml"),
            ("get", "/stream"), ("get", "/search"), ("get", "/templates"),
        }
        self.assertEqual({(m, t) for (t, m) in self.api.operations}, wanted)

    def test_every_operation_has_id_summary_and_errors(self):
        for op in self.api.operations.values():
            with self.subTest(op.operation_id):
                self.assertTrue(op.spec.get("summary"))
                statuses = set(op.spec["responses"])
                if op.operation_id not in ("getOpenApi",):
                    self.assertTrue(statuses & {"401", "400", "404"}, statuses)
                public = op.spec.get("security") == []
                if not public:
                    self.assertIn("401", statuses)
                    self.assertIn("503", statuses)

    def test_changes_made_with_a_session_need_the_csrf_header(self):
        for (template, method), op in self.api.operations.items():
            if method in ("post", "put", "patch", "delete") and op.spec.get("security") is None:
                with self.subTest(op.operation_id):
                    self.assertIn("403", op.spec["responses"])
                    self.assertEqual(self.api.document["security"], [{"bearer": []}, {"session": []}])

    def test_components_the_design_names(self):
        schemas = self.api.document["components"]["schemas"]
        for name in ("Conversation", "Message", "Note", "SystemMessage", "Customer", "Error", "Event",
                     "ListEnvelope", "MessageCreatedEvent", "MessageUpdatedEvent", "ConversationUpdatedEvent",
                     "ConversationAssignedEvent", "NoteCreatedEvent", "ResetEvent"):
            self.assertIn(name, schemas)
        schemes = self.api.document["components"]["securitySchemes"]
        self.assertEqual(schemes["session"], {**schemes["session"], "type": "apiKey", "in": "cookie", "name": "sb_session"})
        self.assertEqual(schemes["csrf"]["name"], "X-CSRF-Token")
        self.assertEqual(schemes["bearer"]["scheme"], "bearer")

    def test_open_objects_except_the_error_envelope(self):
        def walk(node, where):
            if isinstance(node, dict):
                if node.get("additionalProperties") is False:
                    yield where
                for k, v in node.items():
                    yield from walk(v, f"{where}/{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    yield from walk(v, f"{where}/{i}")
        closed = list(walk(self.api.document, "#"))
        self.assertEqual(closed, ["#/components/schemas/Error", "#/components/schemas/Error/properties/error"])

    def test_nullables_use_type_lists(self):
        text = self.api.text
        self.assertNotIn("nullable:", text)
        self.assertIn("type: [string, 'null']", text)


class CheckerTest(unittest.TestCase):
    def setUp(self):
        self.api = OpenApi()  # not the shared one: these synthetic answers are not coverage

    def ok(self, method, path, status, body=b"", content_type="application/json", headers=None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return self.api.check_response(method, path, status, content_type, body, headers or {})

    def bad(self, *args, **kw):
        with self.assertRaises(Mismatch) as cm:
            self.ok(*args, **kw)
        return str(cm.exception)

    def test_matches_templates_and_literal_paths(self):
        self.assertEqual(self.ok("GET", "/api/v1/conversations?limit=3", 200,
                                 {"items": [conversation()], "next_cursor": None}).operation_id, "listConversations")
        self.assertEqual(self.api.operation("GET", "/api/v1/conversations/17/messages").operation_id,
                         "listConversationMessages")
        self.assertEqual(self.api.operation("POST", "/api/v1/conversations/17/reply-preview").operation_id,
                         "previewReply")
        self.assertEqual(self.api.operation("GET", "/api/v1/openapi.yaml").operation_id, "getOpenApi")
        self.assertEqual(self.api.operation("GET", "/api/v1/messages/3/attachments/0").operation_id, "getAttachment")

    def test_undocumented_path_method_status_media_type(self):
        self.assertIn("undocumented path", self.bad("GET", "/api/v1/nothing-here", 404, ERROR))
        self.assertIn("not under the API's base path", self.bad("GET", "/healthz", 200, {"status": "ok"}))
        self.assertIn("undocumented method", self.bad("PUT", "/api/v1/conversations/1", 200, conversation()))
        self.assertIn("undocumented status", self.bad("GET", "/api/v1/conversations/1", 403, ERROR))
        self.assertIn("undocumented status", self.bad("GET", "/api/v1/conversations/1", 500, ERROR))
        self.assertIn("undocumented media type",
                      self.bad("GET", "/api/v1/conversations/1", 404, ERROR, content_type="text/plain"))
        self.assertIn("undocumented media type", self.bad("GET", "/api/v1/conversations/1", 404, ERROR, content_type=None))

    def test_bodies_are_validated_with_references_resolved(self):
        self.ok("GET", "/api/v1/conversations/1", 404, ERROR)
        detail = conversation(why=None, reachable=[{"channel": "api", "account": "shop", "address": "a@b.pl"}])
        self.ok("GET", "/api/v1/conversations/1", 200, detail)
        self.ok("GET", "/api/v1/conversations/1", 200, dict(detail, extra_field_the_server_may_add=1))
        self.assertIn("state", self.bad("GET", "/api/v1/conversations/1", 200, dict(detail, state="closed")))
        self.assertIn("why", self.bad("GET", "/api/v1/conversations/1", 200, conversation()))
        self.assertIn("opened_at", self.bad("GET", "/api/v1/conversations/1", 200,
                                            dict(detail, opened_at="2026-12-07 23:30:00+01")))
        self.assertIn("not JSON", self.bad("GET", "/api/v1/conversations/1", 200, b"{"))
        # Ids are strings of digits.
        self.assertIn("id", self.bad("GET", "/api/v1/conversations/1", 200, dict(detail, id=1)))

    def test_the_error_envelope_is_closed(self):
        self.bad("GET", "/api/v1/conversations/1", 404, {"error": {"code": "not_found", "message": "x", "more": 1}})
        self.bad("GET", "/api/v1/conversations/1", 404, {"error": {"code": "not_found", "message": "x"}, "more": 1})
        self.bad("GET", "/api/v1/conversations/1", 404, {"error": {"code": "Not Found", "message": "x"}})
        self.bad("GET", "/api/v1/conversations/1", 404, {"error": "not_found"})

    def test_required_headers(self):
        self.assertIn("WWW-Authenticate", self.bad("GET", "/api/v1/session", 401, ERROR))
        self.ok("GET", "/api/v1/session", 401, ERROR, headers={"www-authenticate": "Bearer"})
        self.assertIn("Retry-After", self.bad("POST", "/api/v1/session", 429, ERROR))
        self.ok("POST", "/api/v1/session", 429, ERROR, headers={"Retry-After": "3"})
        created = {"person": {"login": "anna", "name": "Anna", "role": "agent"}, "csrf_token": "x" * 43}
        self.assertIn("Set-Cookie", self.bad("POST", "/api/v1/session", 200, created))
        self.ok("POST", "/api/v1/session", 200, created, headers={"Set-Cookie": "sb_session=abc; HttpOnly"})

    def test_answers_without_a_body(self):
        self.ok("DELETE", "/api/v1/tokens/3", 204, b"", content_type=None)
        self.assertIn("without a body", self.bad("DELETE", "/api/v1/tokens/3", 204, b"{}"))

    def test_media_type_ranges(self):
        disposition = {"Content-Disposition": "attachment; filename*=UTF-8''a.pdf"}
        self.ok("GET", "/api/v1/messages/3/attachments/0", 200, b"%PDF", content_type="application/pdf",
                headers=disposition)
        self.bad("GET", "/api/v1/messages/3/attachments/0", 200, b"%PDF", content_type="application/pdf")

    def test_events(self):
        at = "2026-12-07T23:30:00.5Z"
        lite = {"id": "9", "direction": "in", "channel": "sms", "account": "main", "sender": "+48600100200",
                "text": "x", "truncated": False, "created_at": at}
        self.api.validate("Event", {"id": "1", "type": "message.created", "at": at, "conversation_id": "3",
                                    "message": lite})
        self.api.validate("Event", {"id": "2", "type": "message.updated", "at": at, "conversation_id": "3",
                                    "message_id": "9", "delivery_state": "delivered", "last_error": None})
        self.api.validate("Event", {"id": "3", "type": "conversation.assigned", "at": at, "conversation_id": "3",
                                    "assignee": "anna", "previous": None})
        self.api.validate("Event", {"type": "reset"})
        with self.assertRaises(Mismatch):
            self.api.validate("Event", {"id": "4", "type": "message.created", "at": at, "conversation_id": "3",
                                        "message": dict(lite, truncated="no")})
        with self.assertRaises(Mismatch):
            self.api.validate("Event", {"id": "5", "type": "something.else", "at": at, "conversation_id": "3"})
        with self.assertRaises(Mismatch):
            self.api.validate("Event", {"id": 6, "type": "conversation.assigned", "at": at, "conversation_id": "3",
                                        "assignee": None, "previous": None})


if __name__ == "__main__":
    unittest.main()
