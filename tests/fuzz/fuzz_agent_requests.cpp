// libFuzzer: what the agent API reads from a request before the database sees it (the console's
// inputs): the conversation list's query string, PATCH bodies against a rules file, and reply
// bodies, the search box (s: the query string, and the same text as a message to index). The
// first byte picks the reader (q, c, r, p, s); the rest is the input. Whatever is accepted must be
// within the documented bounds; a search's tsquery must be nothing but quoted lexemes and
// operators, and a message's lexemes what the indexer can store.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/api/requests.hpp"
#include "routing/rules/ruleset.hpp"
#include "routing/text/utf8.hpp"
#include "search/terms.hpp"

namespace api = switchboard::daemon::api;

namespace {

const switchboard::routing::RuleSet* rules() {
  static const auto compiled = switchboard::routing::compile_rules(R"(version: 1
people:
  anna: { name: Anna }
  boss: { name: Boss, role: admin }
queues: { support: { people: [anna] }, sales: {} }
rules:
  - name: default
    then: [ { enqueue: support } ]
)",
                                                                   {});
  if (!compiled.rules) std::abort();
  return compiled.rules.get();
}

void check(bool ok) {
  if (!ok) std::abort();
}

switchboard::search::Stemmer* stemmer() {
  static auto opened = switchboard::search::Stemmer::open();
  return opened ? opened->get() : nullptr;
}

// Outside quotes only ( ) | & : * and spaces; inside, a backslash escapes the next byte.
bool only_quoted_lexemes(const std::string& q) {
  bool in = false;
  for (std::size_t i = 0; i < q.size(); ++i) {
    const char c = q[i];
    if (in) {
      if (c == '\\')
        ++i;
      else if (c == '\'')
        in = false;
    } else if (c == '\'') {
      in = true;
    } else if (std::string_view("()|&:* ").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return !in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char kind = static_cast<char>(data[0]);
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (kind) {
    case 'q': {
      auto q = api::conversation_query(input, "anna");
      if (q) {
        check(q->limit >= 1 && q->limit <= 200);
        check(!q->states.empty());
        for (const auto& s : q->states) check(s == "open" || s == "pending" || s == "resolved");
        for (const auto* text : {&q->queue, &q->assignee, &q->channel, &q->tag})
          if (*text) check(switchboard::routing::is_valid_utf8(**text) && (*text)->find('\0') == std::string::npos);
      } else {
        check(q.error().kind == switchboard::ErrorKind::invalid && !q.error().message.empty());
      }
      break;
    }
    case 'c': {
      auto c = api::conversation_change(input, rules());
      if (c) {
        if (c->assignee && *c->assignee) check(rules()->person(**c->assignee) != nullptr);
        if (c->tags) check(c->tags->size() <= 50);
      } else {
        check(c.error().kind == switchboard::ErrorKind::invalid);
      }
      break;
    }
    case 'r':
    case 'p': {
      auto r = api::reply_request(input, kind == 'p');
      if (r) {
        check(switchboard::routing::is_valid_utf8(r->text) && r->text.find('\0') == std::string::npos);
        if (kind == 'r') check(!r->text.empty());
      } else {
        check(r.error().kind == switchboard::ErrorKind::invalid);
      }
      break;
    }
    case 's': {
      auto q = api::search_query(input, stemmer());
      if (q) {
        check(q->limit >= 1 && q->limit <= 100);
        check(!q->tsquery.empty() && only_quoted_lexemes(q->tsquery));
        check(switchboard::routing::is_valid_utf8(q->tsquery) && switchboard::routing::is_valid_utf8(q->name));
      } else {
        check(q.error().kind == switchboard::ErrorKind::invalid);
      }
      for (const auto& lexeme : switchboard::search::document_terms(input, stemmer()))
        check(!lexeme.empty() && lexeme.size() <= 200 && lexeme.find_first_of(" \n\t") == std::string::npos &&
              switchboard::routing::is_valid_utf8(lexeme));
      break;
    }
    default:
      break;
  }
  return 0;
}
