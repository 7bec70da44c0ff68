#include "channels/identity.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>

namespace switchboard::channels {

std::optional<std::string> normalize_phone(std::string_view text, std::string_view default_region) {
  // libphonenumber accepts letters (vanity numbers) and much else; a customer address with a
  // letter or '@' is not meant as a phone number.
  if (text.empty() || text.size() > 40) return std::nullopt;
  int digits = 0;
  for (unsigned char c : text) {
    if (std::isdigit(c)) {
      ++digits;
    } else if (!(c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '/')) {
      return std::nullopt;
    }
  }
  if (digits < 6) return std::nullopt;
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(std::string(text), std::string(default_region), &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  if (!util->IsValidNumber(number)) return std::nullopt;
  std::string out;
  util->Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

std::optional<std::string> normalize_email(std::string_view text) {
  if (text.empty() || text.size() > 254) return std::nullopt;
  auto at = text.find('@');
  if (at == std::string_view::npos || at == 0 || text.find('@', at + 1) != std::string_view::npos)
    return std::nullopt;
  auto domain = text.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.')
    return std::nullopt;
  for (unsigned char c : text)
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';') return std::nullopt;
  std::string out(text);
  // Only ASCII letters are folded: internationalised local parts are compared byte-exact.
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Identity identity_for_address(std::string_view address, std::string_view account, std::string_view default_region) {
  if (auto email = normalize_email(address)) return Identity{IdentityKind::email, *email};
  if (auto phone = normalize_phone(address, default_region)) return Identity{IdentityKind::phone, *phone};
  std::string value(account);
  value += ':';
  value += address;
  return Identity{IdentityKind::api, std::move(value)};
}

}  // namespace switchboard::channels
