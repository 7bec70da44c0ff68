// Is this mail from a person, from a robot, or a report about mail we sent? The classifier of
// inbound mail (protocols/email.md "Mail loops and auto-replies", widened to what real mailboxes
// receive): RFC 3834 headers, machine sender local parts (BATV and SRS wrappers removed), subject
// patterns in Polish, English, German and French, the texts of non-standard bounces (qmail,
// Postfix, Exim, sendmail, Exchange, Yahoo, Netscape, localized ones) and report structure.
// Internal to channels/email (mime.cpp, tests). Pure and linear in its input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::channels::email {

struct HeaderLine {
  std::string name;     // lower-case
  std::string written;  // as written, for the reason ("List-Post header")
  std::string value;    // unfolded, one line; only for the headers classifier_reads_value() names
};

// The headers whose values classify_mail() reads (Auto-Submitted, Precedence, ...); the others
// count by their names alone, and a caller need not copy their (possibly megabyte) values.
bool classifier_reads_value(std::string_view lower_name);

struct MailFacts {
  std::vector<HeaderLine> headers;
  std::string sender;        // the From address, lower-case; "" when none
  std::string return_path;   // lower-case; "" for <> and when absent
  bool has_return_path = false;
  std::string subject;       // decoded
  std::string text;          // the whole text body (only its beginning is read)
  std::string report_type;   // the report-type of a top-level multipart/report, lower-case; "" when none
  bool top_report = false;   // the mail is a multipart/report
  bool dsn_part = false;     // a message/delivery-status part was found (also inside other parts)
  bool addressed_to_us = true;  // one of our addresses or aliases in To/Cc or the envelope headers
  std::string loop_marker;   // our X-Switchboard-Loop value ("" = none)
};

enum class Verdict {
  person,     // a customer's mail: routed and answered as the rules say
  unsure,     // looks machine-made but a person may have written it: routed, never auto-answered
  automatic,  // an out-of-office, a list, a robot: stored in the conversation, never routed
  system,     // a report about mail (bounce, delivery report, read receipt, abuse report): a system message
};

struct Classification {
  Verdict verdict = Verdict::person;
  std::string reason;       // the first rule that decided, e.g. "Auto-Submitted: auto-replied"
  std::string system_kind;  // for Verdict::system: bounce | delivery_report | read_receipt | abuse_report | notification
};

Classification classify_mail(const MailFacts& facts);

// "ndr" from "prvs=1234abcd=ndr@example.com" (BATV) or "SRS0=h=tt=example.org=ndr@fwd.example"
// (SRS), lower-case; the plain local part otherwise.
std::string effective_local_part(std::string_view address);

// A local part that only machines send from: mailer-daemon, postmaster, ndr, no-reply and its
// variants, *-request, owner-*, bounce(s), E500_SMTP_Mail_Service, auto-reply senders...
bool machine_local_part(std::string_view address);

// Lower-case for ASCII and the Latin letters of Polish, German and French ("ŁÓDŹ" -> "łódź").
std::string fold_case(std::string_view utf8);

}  // namespace switchboard::channels::email
