// The 'people' section: agents and on-call staff by login, with name, phone (E.164), e-mail,
// languages and skills.
#include <algorithm>

#include "routing/rules/compile_context.hpp"

namespace switchboard::routing {

namespace {

bool valid_login(std::string_view login) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !login.empty() && lower_or_digit(login.front()) &&
         std::all_of(login.begin(), login.end(), [&](char c) { return lower_or_digit(c) || c == '_' || c == '.' || c == '-'; });
}

// '+' and 8 to 15 digits, the first not 0.
bool valid_e164(std::string_view phone) {
  if (phone.size() < 9 || phone.size() > 16 || phone.front() != '+' || phone[1] == '0') return false;
  return std::all_of(phone.begin() + 1, phone.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The shape only: one '@', something before it, a dotted domain, no spaces or control bytes.
bool valid_email(std::string_view email) {
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos) return false;
  const std::string_view domain = email.substr(at + 1);
  const std::size_t dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.' || domain.find("..") != std::string_view::npos) return false;
  return std::none_of(email.begin(), email.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == '\x7f'; });
}

// A list of strings under `key`; reports and returns nullopt otherwise.
std::optional<std::vector<std::string>> strings_of(CompileContext& ctx, const YamlNode& node, std::string_view key) {
  const bool strings =
      node.is_sequence() && std::all_of(node.items.begin(), node.items.end(), [](const YamlNode& s) { return s.is_scalar(); });
  if (!strings) {
    ctx.error(node, "'" + std::string(key) + "' must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const YamlNode& item : node.items) out.push_back(item.text);
  return out;
}

std::shared_ptr<const Person> compile_person(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kPersonKeys[] = {"name", "phone", "email", "languages", "skills", "role"};
  const YamlNode& settings = entry.value;
  const std::string& login = entry.key.text;
  if (!settings.is_mapping()) {
    ctx.error(settings.is_null() ? entry.key : settings, "person '" + login + "' must be a mapping with 'name'");
    return nullptr;
  }
  bool ok = ctx.check_keys(settings, kPersonKeys);
  Person person{.login = login, .name = {}, .phone = {}, .email = {}, .languages = {}, .skills = {}, .role = Role::agent};
  if (const YamlNode* role = settings.find("role")) {
    if (role->is_scalar() && (role->text == "agent" || role->text == "admin")) {
      person.role = role->text == "admin" ? Role::admin : Role::agent;
    } else {
      ctx.error(*role, "'role' must be agent or admin");
      ok = false;
    }
  }
  if (const YamlNode* name = settings.find("name")) {
    auto text = ctx.text_of(*name, "'name' must be a string");
    if (text && text->empty()) ctx.error(*name, "'name' must not be empty");
    ok = ok && text && !text->empty();
    if (text) person.name = *text;
  } else {
    ctx.error(settings, "person '" + login + "' needs 'name'");
    ok = false;
  }
  if (const YamlNode* phone = settings.find("phone")) {
    if (!phone->is_scalar() || !valid_e164(phone->text)) {
      ctx.error(*phone, "phone must be in E.164 form such as +48600100200");
      ok = false;
    } else {
      person.phone = phone->text;
    }
  }
  if (const YamlNode* email = settings.find("email")) {
    if (!email->is_scalar() || !valid_email(email->text)) {
      ctx.error(*email, "'" + email->text + "' is not an e-mail address such as anna@example.pl");
      ok = false;
    } else {
      person.email = email->text;
    }
  }
  if (const YamlNode* languages = settings.find("languages")) {
    auto list = strings_of(ctx, *languages, "languages");
    ok = ok && list.has_value();
    if (list) {
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (valid_language((*list)[i])) continue;
        ctx.error(languages->items[i], "'" + (*list)[i] + "' is not a language code such as 'pl' or 'en'");
        ok = false;
      }
      person.languages = std::move(*list);
    }
  }
  if (const YamlNode* skills = settings.find("skills")) {
    auto list = strings_of(ctx, *skills, "skills");
    ok = ok && list.has_value();
    if (list) person.skills = std::move(*list);
  }
  if (!ok) return nullptr;
  return std::make_shared<const Person>(std::move(person));
}

}  // namespace

void compile_people(CompileContext& ctx, const YamlNode& value) {
  ctx.set_people_section();
  if (value.is_null()) return;  // "people:" with nothing under it declares none
  if (!value.is_mapping()) {
    ctx.error(value, "'people' must be a mapping of logins to their settings");
    return;
  }
  for (const YamlEntry& entry : value.entries) {
    if (!valid_login(entry.key.text)) {
      ctx.error(entry.key, "bad login '" + entry.key.text +
                               "' (use lower-case letters, digits, '_', '.' and '-', starting with a letter or digit)");
      ctx.declare_person(entry.key, nullptr);  // still declared: no cascade of "undefined person"
      continue;
    }
    ctx.declare_person(entry.key, compile_person(ctx, entry));
  }
}

}  // namespace switchboard::routing
