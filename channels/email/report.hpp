// Machine-written mail: delivery status notifications (RFC 3464), old MTAs' plain-text bounces,
// and the header-field blocks both are made of. Internal to channels/email (mime.cpp, tests).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "channels/email/mime.hpp"

namespace switchboard::channels::email {

struct HeaderField {
  std::string name;   // as written
  std::string value;  // unfolded, trimmed, valid UTF-8
};
using HeaderBlock = std::vector<HeaderField>;

// "Name: value" lines with folded continuations, blocks separated by blank lines (the body of a
// message/delivery-status part, or a text/rfc822-headers part). Lines that are not fields are
// skipped. At most `max_fields` fields in all.
std::vector<HeaderBlock> parse_header_blocks(std::string_view text, std::size_t max_fields = 2000);

// The value of the first field `name` (case-insensitive) in `block`; nullptr when absent.
const std::string* field_value(const HeaderBlock& block, std::string_view name);

// From a message/delivery-status body: recipients (Final-Recipient, else Original-Recipient),
// and action/status/diagnostic of the first failed recipient (else the first one).
Bounce parse_delivery_status(std::string_view text);

// The first Message-ID (without <>) of a header block such as a text/rfc822-headers part; "".
std::string message_id_in_headers(std::string_view headers);

// What can be found in a plain-text bounce: failed recipients ("<addr>: ..." or an address alone
// on an indented line), the first enhanced status code, the diagnostic line, the action
// (failed, or delayed for a 4.x.x status) and a "Message-ID:" of the quoted original.
// Addresses in `ignore` (lower-case) are not recipients.
void scan_text_bounce(std::string_view text, const std::vector<std::string>& ignore, Bounce& bounce);

// "m5600" from "bounces+m5600@support.example.com" (also "bounce+..."); "" otherwise.
std::string verp_tag(std::string_view address);

// "local+detail@domain" -> {"local@domain", "detail"}; detail "" when there is no '+'.
std::pair<std::string, std::string> split_plus_address(std::string_view address);

// The address of an angle-bracketed or bare mailbox ("<a@b>", "rfc822; a@b"), lower-case, trimmed.
std::string bare_address(std::string_view text);

}  // namespace switchboard::channels::email
