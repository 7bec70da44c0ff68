// What routing decided for one inbound message: the rule(s) that fired and the actions to take.
// storage/ writes a Decision's effects in the same transaction as the message.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "routing/core/time.hpp"

namespace switchboard {

enum class Priority { low, normal, high, urgent };
std::string_view to_string(Priority p);
std::optional<Priority> priority_from_string(std::string_view s);

// A pre-approved WhatsApp message template ('whatsapp_template' of a reply): what the WhatsApp
// adapter sends instead of the free text when the customer's 24-hour window is closed.
struct WhatsAppTemplate {
  std::string name;                     // as approved in the WhatsApp Business Account
  std::string language;                 // as written in the rules ("pl", "en_US"): no per-language variants
  std::vector<std::string> parameters;  // the body's {{1}}, {{2}}, ... rendered for this message
  bool operator==(const WhatsAppTemplate&) const = default;
};

struct ReplyAction {
  std::string template_name;
  std::string text;  // the rendered text to send on the message's channel
  // For e-mail: the same text as an HTML fragment, everything escaped (variables come from
  // outsiders: a customer's name must never become markup). Empty on other channels.
  std::string html = {};
  // 'at_most: once per 12h': at most one reply with this template to a customer per this long,
  // whatever channel or conversation they write from. evaluate() drops the reply when
  // CustomerView::last_auto_reply says one went out within the window.
  std::optional<Duration> at_most = std::nullopt;
  // Replies on SMS only (empty / 0 elsewhere): the encoding of `text` ("gsm7" or "ucs2", see
  // routing/text/sms.hpp) and the segments it takes, after the rules file's 'sms' options
  // (transliteration, max_segments) were applied to it.
  std::string sms_encoding = {};
  int sms_segments = 0;
  // Replies on WhatsApp only: the template to send instead of `text` outside the 24-hour window.
  std::optional<WhatsAppTemplate> whatsapp_template = std::nullopt;
};

struct EnqueueAction {
  std::string queue;
  Priority priority = Priority::normal;
};

struct TagAction {
  std::string tag;
};

// Give the conversation to an agent (a person declared in the rules file).
struct AssignAction {
  std::string agent;
};

// One step of a page's escalation: notify `login` at `address` over `channel` ("sms" or
// "email") `after` the page was raised, unless it was acknowledged by then.
struct PageStep {
  std::string channel;
  std::string login;
  std::string address;
  Duration after{};
};

// Raise a page for the on-call person of a schedule, resolved at the message's time.
struct PageAction {
  std::string schedule;
  std::string person;  // on call now
  Duration ack_within{};
  std::vector<PageStep> steps;
};

// Resolve the conversation after this message.
struct CloseAction {};

struct SetPriorityAction {
  Priority priority = Priority::normal;
};

// Set the customer's language (templates and later replies use it).
struct SetLanguageAction {
  std::string language;
};

// POST a note (a rendered template) to a URL named in the rules file, through the outbox.
struct NotifyAction {
  std::string url;
  std::string template_name;
  std::string text;
};

using Action = std::variant<ReplyAction, EnqueueAction, TagAction, AssignAction, PageAction, CloseAction,
                            SetPriorityAction, SetLanguageAction, NotifyAction>;

// An action as named fields, in a stable order, for JSON and text renderings (audit rows, explain):
// {"type", "reply"}, {"template", "after_hours"}, {"text", "..."}. A reply adds {"sms_encoding",
// "ucs2"}, {"sms_segments", "2"} when it has them and {"whatsapp_template", NAME},
// {"whatsapp_language", "pl"} when it has a WhatsApp template (its parameters are no field).
std::vector<std::pair<std::string, std::string>> action_fields(const Action& action);

struct Decision {
  std::optional<std::string> rule;    // the first rule that matched; nullopt when none did
  std::vector<std::string> matched;   // every rule whose actions were taken, in order
  std::vector<Action> actions;
  // Replies a rule asked for but 'at_most' held back, by template name (for explain and audit).
  std::vector<std::string> suppressed;
};

// Facts about the conversation a message joins, as storage found them before the message.
struct ConversationView {
  std::string id;                // "" when not stored (explain)
  bool is_new = true;            // opened by this message
  long inbound_count = 1;        // inbound messages in it, this one included
  std::string state = "open";    // open | pending | resolved
  std::optional<std::string> queue;
  Timestamp opened_at{};         // for the conversation's age; the message's time when new
  // The last reply written by a person (an agent), and inbound messages since then (this one
  // included); without a human reply, counted from the conversation's start.
  std::optional<Timestamp> last_human_reply_at;
  long inbound_since_human_reply = 1;
};

struct CustomerView {
  std::string id;
  std::string display_name;
  std::optional<std::string> language;
  std::vector<std::string> tags;
  // When an automatic reply with this template last went to the customer, on any channel.
  // Asked only for replies that carry 'at_most', so a caller that must query for it (storage, in
  // the message's transaction) pays only when the rules need it. Empty: no history.
  std::function<std::optional<Timestamp>(std::string_view template_name)> last_auto_reply = nullptr;
};

}  // namespace switchboard
