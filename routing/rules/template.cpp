// Compiling template text ({{variable | "fallback"}}) and rendering it for one message.
#include "routing/rules/template.hpp"

#include <algorithm>

#include "routing/core/message.hpp"

namespace switchboard::routing {

namespace {

std::string first_word(std::string_view name) {
  const std::size_t start = name.find_first_not_of(' ');
  if (start == std::string_view::npos) return {};
  const std::size_t end = name.find(' ', start);
  return std::string(name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
}

std::string value_of(const TemplateVariable& v, const EvaluationInput& input, const std::string& language) {
  using Kind = TemplateVariable::Kind;
  switch (v.kind) {
    case Kind::customer_name: return input.customer.display_name;
    case Kind::customer_first_name: return first_word(input.customer.display_name);
    case Kind::conversation_id: return input.conversation.id;
    case Kind::conversation_queue: return input.conversation.queue.value_or("");
    case Kind::message_channel: return std::string(to_string(input.message.channel));
    case Kind::next_open: {
      auto at = next_open(*v.calendar, input.now);
      return at ? say_when(v.calendar->zone, input.now, *at, language) : std::string();
    }
  }
  return {};
}

}  // namespace

std::string render(const Template& tmpl, const EvaluationInput& input, std::vector<std::string>* empty) {
  std::string language = input.customer.language.value_or(input.message.language.value_or(tmpl.default_language));
  if (language.empty()) language = tmpl.default_language;
  auto variant = tmpl.variants.find(language);
  if (variant == tmpl.variants.end()) {
    language = tmpl.default_language;
    variant = tmpl.variants.find(language);
  }
  if (variant == tmpl.variants.end()) return {};
  return render_text(variant->second, input, language, empty);
}

std::string render_text(const TemplateText& text, const EvaluationInput& input, const std::string& language,
                        std::vector<std::string>* empty) {
  std::string out;
  for (const auto& part : text.parts) {
    if (const auto* literal = std::get_if<std::string>(&part)) {
      out += *literal;
      continue;
    }
    const auto& variable = std::get<TemplateVariable>(part);
    std::string value = value_of(variable, input, language);
    if (value.empty() && variable.fallback) value = *variable.fallback;
    if (value.empty() && empty && std::find(empty->begin(), empty->end(), variable.written) == empty->end())
      empty->push_back(variable.written);
    out += value;
  }
  return out;
}

}  // namespace switchboard::routing
