// What the agent API reads from a request, checked before anything reaches the database: query
// parameters, JSON bodies and their fields. Pure functions (tests/unit/daemon/api_requests_test.cpp,
// tests/fuzz/fuzz_agent_requests.cpp); every refusal is an invalid Error whose message names the
// parameter or field.
#pragma once

#include <boost/json/object.hpp>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "routing/core/result.hpp"
#include "routing/rules/ruleset.hpp"
#include "search/stemmer.hpp"
#include "storage/agent.hpp"
#include "storage/outbox.hpp"

namespace switchboard::daemon::api {

// A JSON object body. Errors: invalid_utf8, invalid_json.
Result<boost::json::object> body_object(std::string_view body);
// Refuses members other than `known` (invalid_field, naming the first).
Status only_fields(const boost::json::object& o, std::initializer_list<std::string_view> known);
// A non-empty string member without NUL; nullopt when absent or null. Errors: missing_field
// (required and absent), invalid_field (another type, empty).
Result<std::optional<std::string>> string_field(const boost::json::object& o, std::string_view name, bool required);

// The query's parameters, percent-decoded ('+' a space), the first of a repeated one. Errors:
// invalid_parameter for a name not in `known`, bad percent-encoding, text that is not UTF-8.
Result<std::map<std::string, std::string>> query_params(std::string_view query,
                                                        std::initializer_list<std::string_view> known);
// `limit` between 1 and `max`, `fallback` when absent.
Result<int> limit_param(const std::map<std::string, std::string>& params, int fallback, int max);

// GET /api/v1/conversations?state=&queue=&assignee=&channel=&tag=&sort=&limit=&cursor=
// (`assignee=me` is `me`).
Result<storage::ConversationQuery> conversation_query(std::string_view query, const std::string& me);

// GET /api/v1/search?q=&limit=&cursor=: the words of `q` as a tsquery (search/terms.hpp) and,
// in lower case, as a customer name to look for; `q` trimmed (and an e-mail address in lower case) as
// identities. The caller adds the phone number it may be.
// Errors: invalid_parameter for a missing or empty q, or one over 200 characters.
Result<storage::SearchQuery> search_query(std::string_view query, search::Stemmer* stemmer);

// PATCH /api/v1/conversations/{id}: people and queues must be the rules file's.
Result<storage::ConversationChange> conversation_change(std::string_view body, const routing::RuleSet* rules);

// POST .../messages and .../reply-preview (whose text may be empty): a text, or a template of the
// rules file to render for the customer.
struct ReplyRequest {
  std::string text;
  std::optional<std::string> template_name;
  // WhatsApp outside its 24-hour window: the approved template sent instead of the text.
  std::optional<WhatsAppTemplate> whatsapp_template;
  storage::ReplyRoute route;
  std::optional<std::string> author;  // honoured for a config admin token only
};
Result<ReplyRequest> reply_request(std::string_view body, bool preview);

}  // namespace switchboard::daemon::api
