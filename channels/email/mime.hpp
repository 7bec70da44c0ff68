// Inbound mail: a raw RFC 5322 message (as fetched over IMAP) into switchboard's vocabulary,
// with GMime 3 for the MIME structure. Facts: protocols/email.md; the external_id rule:
// CONTRACT.md. Pure: no I/O, no clock; safe to call from several threads at once.
//
// Hostile input is expected (anyone can mail us): parse_mail never fails on bad MIME, it returns
// what it could read and lists each problem in `defects`. Memory stays bounded by the input:
// attachments over the limit are measured while decoding, never held; text parts are cut at
// max_text_bytes; MIME nesting below kMaxMimeDepth is ignored.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/core/message.hpp"
#include "routing/core/result.hpp"

namespace switchboard::channels::email {

inline constexpr int kMaxMimeDepth = 20;

struct ParseOptions {
  std::string mailbox;                      // our name for the mailbox: InboundMessage::account
  // Our support address and its aliases, e.g. obsluga@support.example.com, kontakt@example.com:
  // mail to any of them in To, Cc, Delivered-To, X-Original-To or Envelope-To is addressed to us.
  std::vector<std::string> own_addresses;
  std::string loop_marker;                  // our X-Switchboard-Loop value; mail carrying it is ours. "" = none
  std::size_t max_attachment_bytes = 10 * 1024 * 1024;  // bytes kept per attachment; larger: metadata only
  std::size_t max_text_bytes = 2 * 1024 * 1024;         // decoded bytes read per text part; more is cut (a defect)
};

struct AttachmentData {
  Attachment meta;         // url "", mime_type, name (sanitised), size (decoded bytes, always set)
  std::string bytes;       // the decoded content; empty when over the limit
  bool truncated = false;  // over max_attachment_bytes: bytes dropped, meta.size still exact
  std::string content_id;  // Content-ID without <>, "" when none (inline images of HTML mail)
  bool inline_part = false;  // Content-Disposition: inline
};

// A delivery status notification (RFC 3464) or an old MTA's plain-text bounce.
struct Bounce {
  std::string original_message_id;  // of the mail that bounced, without <>; "" when not found
  std::string action;               // failed | delayed | delivered | relayed | expanded ("delayed" is NOT a failure)
  std::string status;               // enhanced status code, e.g. "5.1.1"
  std::string diagnostic;           // Diagnostic-Code, unfolded, e.g. "smtp; 550 5.1.1 ... User unknown"
  std::vector<std::string> recipients;  // Final-Recipient addresses, lower-case
  std::string verp_tag;             // "m5600" from a bounces+m5600@... recipient (our VERP envelope sender)
};

struct ParsedMail {
  // channel email; account = options.mailbox; external_id per CONTRACT; sender = From address
  // lower-case; identities = [email identity] when it is an address (mailbox_address());
  // display_name = decoded
  // From name; text = the new text (quoted history stripped; from the HTML when there is no plain
  // text); attachments = metadata; sent_at = Date (Timestamp{} when missing/unparseable);
  // language = Content-Language when given.
  InboundMessage message;
  // Message-IDs (no <>) from In-Reply-To, then References newest first, de-duplicated (at most
  // kMaxThreadHints).
  std::vector<std::string> thread_hints;
  std::string message_id;  // without <>, "" when none (or longer than 998 bytes: a defect)
  std::string subject;     // decoded UTF-8, one line
  std::string full_text;   // the whole text body, quotes included ('\n' line ends)
  std::string html;        // the HTML part as received, decoded to UTF-8; "" when none
  std::vector<std::string> recipients;  // To, Cc, Delivered-To, X-Original-To; lower-case, unique
  std::vector<std::string> reply_to;    // Reply-To addresses, lower-case
  // "c1042.k7Hq2Xv9" from local+TOKEN@domain among the recipients whose local@domain is one of
  // own_addresses (any plus-address when own_addresses is empty; never our VERP bounces+ address).
  std::vector<std::string> reply_tokens;
  std::string return_path;   // envelope sender (Return-Path), lower-case; "" for <> and when absent
  bool has_return_path = false;
  // channels/email/robots.hpp decides (the reason names the first rule that matched, e.g.
  // "Auto-Submitted: auto-replied", "List-Id header"):
  //  - automated: a robot's mail (an out-of-office, a list): stored, never routed or answered;
  //  - automatic_unsure (a reason, "" when sure): routed, but never answered automatically;
  //  - system_kind (bounce | delivery_report | read_receipt | abuse_report | notification, ""
  //    for other mail): a report about mail, stored as a system message.
  bool automated = false;
  std::string automated_reason;
  std::string automatic_unsure;
  std::string system_kind;
  std::string system_reason;
  bool no_sender = false;            // no usable address in From (nor Sender, Reply-To)
  bool bounce = false;               // system_kind "bounce" or "delivery_report"
  std::optional<Bounce> bounce_info;  // what the bounce says (set whenever `bounce` is)
  bool report = false;               // a top-level multipart/report (DSN, MDN, ARF)
  std::vector<AttachmentData> attachment_data;  // parallel to message.attachments
  std::vector<std::string> defects;  // what was malformed, each a short reason; empty for clean mail
};

inline constexpr std::size_t kMaxThreadHints = 50;

// Errors: invalid "not_a_message" (empty, or neither a header line nor a header/body separator);
// too_large "message_too_large" (over 2 GiB: GMime's memory streams cannot hold it).
Result<ParsedMail> parse_mail(std::string_view raw, const ParseOptions& options);

// CONTRACT: the Message-ID without angle brackets, '#', the first 16 hex digits (lower-case) of
// SHA-256(raw); the hash alone when `message_id` is empty. `message_id` may carry its <>.
std::string external_id(std::string_view raw, std::string_view message_id);

// The "new text" of a reply (protocols/email.md "Quoted reply stripping"): cut at the first
// attribution (Thunderbird, Gmail, Apple Mail, Outlook; Polish and English; wrapped over two lines
// too), "-----Original Message-----" / "-----Wiadomość oryginalna-----", an Outlook header block
// (From:/Sent:/To:/Subject:, Od:/Wysłano:/Do:/Temat:), a "-- " signature or a mobile footer; then
// trailing '>' quotes and blank lines go. Quotes followed by new text (inline answers) stay.
// When nothing would be left, the text is returned unchanged.
std::string strip_quoted(std::string_view text);

// Readable text from HTML: block elements and <br> become line ends (paragraphs a blank line),
// list items "- ", links "text (url)" when the two differ, character references decoded (common
// names and numeric), <script>/<style>/<head> dropped, whitespace collapsed. With strip_quotes,
// quoted history is dropped: <blockquote>, gmail_quote, type="cite", moz-cite-prefix, and
// everything from Outlook's divRplyFwdMsg/appendonsend on. Output is valid UTF-8.
std::string html_to_text(std::string_view html, bool strip_quotes = false);

// An address as a mailbox receives it, lower-case: local@domain with a non-empty local part
// (quoted local parts such as "System Administrator"@example.com are valid) and a domain without
// spaces, which may lack a dot (bob@extern, seen inside companies). nullopt otherwise. Stricter
// channels (the API's from.address) keep channels::normalize_email.
std::optional<std::string> mailbox_address(std::string_view address);

// What a log line about a mail names, read from its raw header block without parsing it as MIME
// (for mail that cannot be parsed or is not downloaded): the Message-ID without <>, and the
// address of From (else the whole From value), each one line of valid UTF-8, at most 200 bytes.
struct HeaderSummary {
  std::string message_id;
  std::string sender;
};
HeaderSummary summarize_headers(std::string_view raw);

// A file name safe to store and serve: no '/', '\\', control characters or leading dots,
// whitespace trimmed, at most 200 bytes (the extension kept); "" when nothing is left.
std::string sanitize_filename(std::string_view name);

}  // namespace switchboard::channels::email
