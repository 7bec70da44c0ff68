// switchboard replay: re-evaluates stored inbound messages with a candidate rules file, at their
// own times, and reports where the decision would differ from the one recorded. Read-only.
#include <boost/json.hpp>
#include <iostream>
#include <map>

#include "daemon/app.hpp"
#include "daemon/commands.hpp"
#include "daemon/config.hpp"
#include "routing/calendar/zone.hpp"
#include "routing/evaluate.hpp"
#include "storage/replay.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

const char* kHelp =
    "usage: switchboard replay --config FILE --rules FILE --since TIME [--until TIME] [--json]\n"
    "\n"
    "Re-evaluates the inbound messages stored since TIME (RFC 3339, or a local time in the rules'\n"
    "time zone) with the candidate rules, each\n"
    "at the time it was sent, and prints how many would route differently, grouped by\n"
    "(recorded rule -> candidate rule), with examples. Reads the database named by the config\n"
    "(or SWITCHBOARD_DATABASE_URL); writes nothing.\n"
    "exit: 0; 1 errors in the rules file or the database failed; 2 bad usage or config.\n";

constexpr std::size_t kExamples = 3;

struct Group {
  long count = 0;
  std::vector<storage::StoredInbound> examples;
};

std::string rule_name(const std::optional<std::string>& r) { return r ? *r : "(none)"; }

std::string excerpt(const std::string& text) {
  // Cut at a character boundary: never in the middle of a UTF-8 sequence.
  std::size_t n = std::min<std::size_t>(text.size(), 60);
  while (n < text.size() && n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  std::string out = text.substr(0, n);
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return n < text.size() ? out + "..." : out;
}

}  // namespace

int cmd_replay(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    }
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"config", "rules", "since", "until"}, {"json"}, parsed, error) ||
      !parsed.positional.empty() || !parsed.has("config") || !parsed.has("rules") || !parsed.has("since")) {
    std::cerr << "switchboard replay: " << (error.empty() ? "--config, --rules and --since are required" : error)
              << "\n"
              << kHelp;
    return 2;
  }
  auto loaded = load_config(*parsed.get("config"));
  for (const auto& d : loaded.diagnostics) std::cerr << d.format() << "\n";
  if (!loaded.config) return 2;

  std::vector<Diagnostic> diagnostics;
  bool unreadable = false;
  auto rules = load_rules(*parsed.get("rules"), diagnostics, unreadable);
  if (unreadable) {
    std::cerr << *parsed.get("rules") << ": error: cannot read the rules file\n";
    return 2;
  }
  for (const auto& d : diagnostics) std::cerr << d.format() << "\n";
  if (!rules) return 1;

  // Local times without an offset are read in the candidate rules' time zone (CONTRACT).
  auto zone = routing::TimeZone::find(rules->timezone());
  auto read_time = [&](const std::string& text) {
    return zone ? routing::parse_local_or_rfc3339(text, *zone) : parse_rfc3339(text);
  };
  auto since = read_time(*parsed.get("since"));
  std::optional<Timestamp> until = Timestamp::max();
  if (const std::string* u = parsed.get("until")) until = read_time(*u);
  if (!since || !until) {
    std::cerr << "switchboard replay: --since and --until must be RFC 3339 times (2027-03-29T00:00:00+02:00) or "
                 "local times in the rules' time zone (2027-03-29T00:00)\n";
    return 2;
  }

  storage::Pool pool(storage::PoolOptions{.url = loaded.config->database_url, .size = 1,
                                          .acquire_timeout = std::chrono::milliseconds{5000},
                                          .connect_timeout = loaded.config->connect_timeout});
  long replayed = 0, changed = 0;
  std::map<std::pair<std::string, std::string>, Group> groups;
  auto status = storage::for_each_inbound(pool, *since, *until, [&](const storage::StoredInbound& s) {
    ++replayed;
    routing::EvaluationInput input{s.message, s.conversation, s.customer, s.message.sent_at};
    Decision decision = routing::evaluate(*rules, input);
    if (decision.rule == s.rule) return true;
    ++changed;
    Group& g = groups[{rule_name(s.rule), rule_name(decision.rule)}];
    ++g.count;
    if (g.examples.size() < kExamples) g.examples.push_back(s);
    return true;
  });
  if (!status) {
    std::cerr << "switchboard replay: error: " << status.error().message << "\n";
    return 1;
  }

  std::vector<std::pair<std::pair<std::string, std::string>, Group>> sorted(groups.begin(), groups.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
  if (parsed.has("json")) {
    json::array out_groups;
    for (const auto& [key, g] : sorted) {
      json::array examples;
      for (const auto& e : g.examples)
        examples.push_back(json::object{{"message_id", e.message_id},
                                        {"conversation_id", e.conversation_id},
                                        {"sent_at", format_rfc3339(e.message.sent_at)},
                                        {"text", excerpt(e.message.text)}});
      out_groups.push_back(json::object{{"from", key.first == "(none)" ? json::value(nullptr) : json::value(key.first)},
                                        {"to", key.second == "(none)" ? json::value(nullptr) : json::value(key.second)},
                                        {"count", g.count},
                                        {"examples", std::move(examples)}});
    }
    json::object out{{"replayed", replayed}, {"changed", changed}, {"rules_hash", rules->hash()},
                     {"groups", std::move(out_groups)}};
    std::cout << json::serialize(out) << "\n";
    return 0;
  }
  std::cout << "replayed " << replayed << " inbound message" << (replayed == 1 ? "" : "s") << " with "
            << *parsed.get("rules") << ": " << changed << " would route differently\n";
  for (const auto& [key, g] : sorted) {
    std::cout << "  " << key.first << " -> " << key.second << ": " << g.count << "\n";
    for (const auto& e : g.examples)
      std::cout << "      message " << e.message_id << " (conversation " << e.conversation_id << ", "
                << format_rfc3339(e.message.sent_at) << "): \"" << excerpt(e.message.text) << "\"\n";
  }
  return 0;
}

}  // namespace switchboard::daemon
