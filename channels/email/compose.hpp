// Building our outgoing mail: the RFC 5322 bytes of a reply (headers, MIME body), its Message-ID
// and its "Re: ... [#1042]" subject. Pure functions apart from the random part of new ids and
// boundaries; no I/O. The envelope (MAIL FROM, RCPT TO) is channels/email/smtp.hpp's business.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "routing/core/time.hpp"

namespace switchboard::channels::email {

struct OutgoingMail {
  std::string from_address;  // e.g. obsluga@support.example.com
  std::string from_name;     // "Obsługa klienta": an RFC 2047 encoded word when not plain ASCII
  std::string to_address;
  std::string to_name;
  std::string reply_to;      // e.g. obsluga+c1042.k7Hq2Xv9@support.example.com; "" = no Reply-To
  std::string subject;       // UTF-8; reply_subject() builds "Re: ... [#1042]"
  std::string text;          // the text/plain body (UTF-8)
  std::string html;          // an optional text/html alternative; "" = none
  std::string message_id;    // without <>; make_message_id(). "" = one is made on from_address's domain
  std::vector<std::string> in_reply_to;  // ids without <> (tolerated with them)
  std::vector<std::string> references;   // oldest first; thread_references() builds them
  // The Date header, shown in the customer's zone with its numeric offset ("+0100"/"+0200" in
  // Europe/Warsaw). The epoch (the default) means "now"; an unknown zone means UTC.
  Timestamp date{};
  std::string time_zone = "Europe/Warsaw";
  // Sent by the rules, not by a person: "Auto-Submitted: auto-replied" and
  // "X-Auto-Response-Suppress: All" (RFC 3834; Exchange). Agents' replies carry neither.
  bool automatic = false;
  std::string loop_marker;   // the X-Switchboard-Loop value; "" = none
};

// "sb.c{conversation}.m{message}.{token}@{domain}", without <>. Characters that may not appear
// in a Message-ID are dropped from the parts; an empty domain becomes "localhost". `token` keeps
// the id the same when the message is sent again (the adapter derives it from the message with a
// secret); empty: 12 random characters.
std::string make_message_id(std::string_view conversation_id, std::string_view message_id, std::string_view domain,
                            std::string_view token = {});

// The References of a reply to a parent message (RFC 5322 3.6.4): the parent's References, or
// when it has none its single In-Reply-To, then the parent's Message-ID. Ids without <>,
// duplicates dropped (the first kept).
std::vector<std::string> thread_references(const std::vector<std::string>& parent_references,
                                           const std::vector<std::string>& parent_in_reply_to,
                                           std::string_view parent_message_id);

// "Re: <subject> [#1042]": leading reply prefixes ("Re:", "RE:", "Odp:", "Aw:", "Re[2]:", ...)
// collapse into one "Re: ", tags of other conversations ("[#<digits>]" other than ours) are
// dropped, the tag is appended unless the subject has it already, whitespace
// (folding included) collapses to single spaces. `conversation_tag` may be "1042", "#1042" or
// "[#1042]"; "" adds none. An empty original subject becomes "Re: Twoja wiadomość [#1042]".
std::string reply_subject(std::string_view original_subject, std::string_view conversation_tag);

// The message as sent: CRLF line ends, Date, From, To, Reply-To, Subject, Message-ID,
// In-Reply-To, References, MIME-Version, Auto-Submitted / X-Auto-Response-Suppress,
// X-Switchboard-Loop, then either text/plain; charset=utf-8 in quoted-printable or
// multipart/alternative with the text and the HTML part (both quoted-printable).
// Non-ASCII header text goes out as RFC 2047 encoded words on lines of at most 76 characters;
// other header lines fold at 78 where they can, and no line is longer than 998 octets.
// Header values never break the header block: CR, LF and other controls become spaces, and
// invalid UTF-8 becomes U+FFFD. Non-ASCII addresses are written as they are (they need SMTPUTF8).
std::string render(const OutgoingMail& mail);

}  // namespace switchboard::channels::email
