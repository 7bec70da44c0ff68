// Reply templates with variables: "Dzień dobry {{customer.first_name | \"Państwo\"}}, odpowiemy
// {{office.next_open}}.", one text per language. Compiled once, rendered per message.
// Rendering is plain text; for e-mail the reply also carries plain_to_html() of it (text/html.hpp),
// which escapes everything, the variables' values included (customer names are outsider input).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "routing/calendar/calendar.hpp"
#include "routing/evaluate.hpp"

namespace switchboard::routing {

struct TemplateVariable {
  enum class Kind { customer_name, customer_first_name, conversation_id, conversation_queue, message_channel, next_open };
  Kind kind = Kind::customer_name;
  std::string written;                       // "customer.first_name"
  std::shared_ptr<const Calendar> calendar;  // for next_open
  std::optional<std::string> fallback;       // rendered when the value is empty
};

struct TemplateText {
  std::vector<std::variant<std::string, TemplateVariable>> parts;
};

struct Template {
  std::string default_language;
  std::map<std::string, TemplateText> variants;  // by language; has the default language's
};

// The variant of the customer's language, else the message's, else the default language's.
// With `empty`, the variables that rendered as nothing (empty value, no fallback or an empty
// one) are appended to it by their written name ("customer.first_name"), each once.
std::string render(const Template& tmpl, const EvaluationInput& input, std::vector<std::string>* empty = nullptr);

// One text rendered in `language` (the language 'next_open' is said in: "pl", else English).
std::string render_text(const TemplateText& text, const EvaluationInput& input, const std::string& language,
                        std::vector<std::string>* empty = nullptr);

}  // namespace switchboard::routing
