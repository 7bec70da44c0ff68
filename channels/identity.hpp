// Normalising a sender's address into an Identity: E.164 phone numbers (libphonenumber),
// lower-cased e-mail addresses, or an opaque per-account id.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "routing/core/message.hpp"

namespace switchboard::channels {

// "+48 600-100-200", "600100200" (default region PL), "0048600100200" -> "+48600100200";
// nullopt when the text is not a valid phone number.
std::optional<std::string> normalize_phone(std::string_view text, std::string_view default_region = "PL");

// "Jan.Kowalski@Example.PL" -> "jan.kowalski@example.pl"; nullopt unless it looks like
// local@domain (one '@', no spaces or control characters, a dot in the domain).
std::optional<std::string> normalize_email(std::string_view text);

// CONTRACT: an e-mail address becomes an email identity, a phone number an E.164 phone identity,
// anything else an api identity of the account ("account:address").
Identity identity_for_address(std::string_view address, std::string_view account,
                              std::string_view default_region = "PL");

}  // namespace switchboard::channels
