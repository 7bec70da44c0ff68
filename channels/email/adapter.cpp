#include "channels/email/adapter.hpp"

#include <openssl/crypto.h>

#include <boost/json.hpp>

#include "channels/email/charset.hpp"
#include "channels/email/compose.hpp"
#include "channels/email/mime.hpp"
#include "channels/signed_post.hpp"
#include "routing/core/log.hpp"

namespace switchboard::channels::email {

namespace json = boost::json;

namespace {

// "local@domain" -> {"local", "domain"}
std::pair<std::string, std::string> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {std::string(address), std::string()};
  return {std::string(address.substr(0, at)), std::string(address.substr(at + 1))};
}

std::string plus_address(std::string_view address, std::string_view detail) {
  auto [local, domain] = split_address(address);
  return local + "+" + std::string(detail) + "@" + domain;
}

}  // namespace

EmailAdapter::EmailAdapter(Options options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}

EmailAdapter::~EmailAdapter() { stop(); }

Status EmailAdapter::attach(Host& host) {
  pollers_.clear();
  for (const auto& box : options_.mailboxes) pollers_.push_back(std::make_unique<Poller>(box, host, *this));
  return Ok{};
}

void EmailAdapter::start() {
  for (auto& p : pollers_) p->start();
}

void EmailAdapter::stop() {
  for (auto& p : pollers_) p->stop();
}

std::vector<SourceStatus> EmailAdapter::sources() const {
  std::vector<SourceStatus> out;
  for (const auto& p : pollers_) out.push_back(p->status());
  return out;
}

Posture EmailAdapter::posture() const {
  return Posture{0, "mail from configured mailboxes only (IMAP with TLS and login); reply tokens signed with HMAC-SHA256"};
}

Result<std::vector<InboundEvent>> EmailAdapter::parse_webhook(const HttpRequest&) {
  return make_error(ErrorKind::not_found, "not_found", "e-mail arrives through IMAP, not over HTTP");
}

const Mailbox* EmailAdapter::mailbox(std::string_view name) const {
  for (const auto& m : options_.mailboxes)
    if (m.name == name) return &m;
  return nullptr;
}

std::string EmailAdapter::reply_token(std::string_view conversation_id) const {
  const std::string subject = "c" + std::string(conversation_id);
  // 12 hex digits of the HMAC: 48 bits, out of reach of guessing through a mailbox.
  std::string mac = body_signature(options_.token_secret, subject).substr(std::string_view("sha256=").size(), 12);
  return subject + "." + mac;
}

std::string EmailAdapter::verify_token(std::string_view token) const {
  auto dot = token.find('.');
  if (token.size() < 3 || token[0] != 'c' || dot == std::string_view::npos || dot < 2) return {};
  std::string id(token.substr(1, dot - 1));
  for (char c : id)
    if (c < '0' || c > '9') return {};
  const std::string expected = reply_token(id);
  if (expected.size() != token.size() || CRYPTO_memcmp(expected.data(), token.data(), token.size()) != 0) return {};
  return id;
}

Result<std::vector<InboundEvent>> EmailAdapter::parse_mail(std::string_view raw, const std::string& mailbox_name,
                                                           std::vector<std::string>* defects) const {
  const Mailbox* box = mailbox(mailbox_name);
  if (!box) return make_error(ErrorKind::not_found, "unknown_mailbox", "no mailbox '" + mailbox_name + "' is configured");
  ParseOptions options;
  options.mailbox = box->name;
  options.own_addresses = {box->address};
  for (const auto& alias : box->aliases) options.own_addresses.push_back(alias);
  options.loop_marker = options_.loop_marker;
  options.max_attachment_bytes = box->max_attachment_bytes;
  auto parsed = email::parse_mail(raw, options);
  if (!parsed) return parsed.error();
  if (defects) *defects = parsed->defects;

  std::vector<InboundEvent> events;
  if (!parsed->system_kind.empty()) {
    // A report about mail (a bounce, a delivery report, a read receipt, an abuse report): kept as
    // a system message, linked to our reply it concerns, never routed.
    SystemMessage sys;
    sys.channel = Channel::email;
    sys.account = box->name;
    sys.external_id = parsed->message.external_id;
    sys.kind = parsed->system_kind;
    sys.sender = parsed->message.sender;
    sys.subject = parsed->subject;
    sys.text = parsed->full_text.empty() ? parsed->message.text : parsed->full_text;
    sys.defects = parsed->defects;
    sys.at = parsed->message.sent_at == Timestamp{} ? clock_.now() : parsed->message.sent_at;
    if (parsed->bounce_info) {
      const Bounce& b = *parsed->bounce_info;
      sys.concerns_external_id = b.original_message_id;
      if (b.action == "failed") {
        sys.status = "failed";
        sys.error = b.status;
        if (!b.diagnostic.empty()) sys.error += (sys.error.empty() ? "" : " ") + b.diagnostic;
        if (sys.error.empty()) sys.error = "bounced: " + parsed->system_reason;
      }
    } else if (!parsed->thread_hints.empty()) {
      sys.concerns_external_id = parsed->thread_hints.front();
    }
    // Our agents' replies go out from local+m{message}@domain (VERP): a bounce names the message.
    std::string tag = parsed->bounce_info ? parsed->bounce_info->verp_tag : std::string();
    if (tag.empty())
      for (const auto& token : parsed->reply_tokens)
        if (token.size() > 1 && token[0] == 'm') tag = token;
    if (tag.size() > 1 && tag[0] == 'm' && tag.size() <= 20 &&
        tag.find_first_not_of("0123456789", 1) == std::string::npos)
      sys.concerns_message_id = tag.substr(1);
    events.emplace_back(std::move(sys));
    return events;
  }

  InboundMessage m = std::move(parsed->message);
  if (parsed->automated)
    m.automated = "automatic mail: " + (parsed->automated_reason.empty() ? std::string("no reason") : parsed->automated_reason);
  m.automatic_unsure = parsed->automatic_unsure;
  if (m.identities.empty()) {
    // No address to know the sender by: one "unknown sender" customer per mailbox collects such
    // mail for the agents (.invalid never names a real domain, RFC 2606), and nothing is dropped.
    m.identities.push_back(Identity{IdentityKind::email, "unknown-sender@" + ascii_lower(box->name) + ".invalid"});
    if (m.automated.empty() && m.automatic_unsure.empty()) m.automatic_unsure = "no sender address";
  }
  MailDetails& mail = m.mail.emplace();
  mail.message_id_header = parsed->message_id;
  mail.subject = parsed->subject;
  mail.thread_hints = parsed->thread_hints;
  for (const auto& token : parsed->reply_tokens)
    if (std::string id = verify_token(token); !id.empty()) mail.reply_tokens.push_back(id);
  if (m.sent_at == Timestamp{}) m.sent_at = clock_.now();
  mail.defects = parsed->defects;
  mail.full_text = parsed->full_text;
  m.attachment_contents.clear();
  for (auto& data : parsed->attachment_data) m.attachment_contents.push_back(std::move(data.bytes));
  events.emplace_back(std::move(m));
  return events;
}

SendResult EmailAdapter::send(const OutboundMessage& message) {
  const Mailbox* box = mailbox(message.account);
  if (!box) return make_error(ErrorKind::config, "unknown_mailbox", "no mailbox '" + message.account + "' is configured");
  if (message.recipient.empty() || message.recipient.find('@') == std::string::npos)
    return make_error(ErrorKind::invalid, "no_recipient", "the reply has no e-mail address to go to");

  const MailThread thread = message.payload.mail.value_or(MailThread{});
  const bool automatic = !message.payload.from_human();

  OutgoingMail mail;
  mail.from_address = box->address;
  mail.from_name = box->display_name;
  mail.to_address = message.recipient;
  mail.reply_to = plus_address(box->address, reply_token(message.conversation_id));
  mail.subject = reply_subject(thread.subject, message.conversation_id);
  mail.text = message.text.empty() ? message.payload.text : message.text;
  mail.html = message.payload.html;
  // The same Message-ID on every attempt (see check_resend), unguessable without the secret.
  const std::string id_token =
      body_signature(options_.token_secret, "m" + message.message_id).substr(std::string_view("sha256=").size(), 12);
  mail.message_id =
      make_message_id(message.conversation_id, message.message_id, split_address(box->address).second, id_token);
  if (!thread.in_reply_to.empty()) mail.in_reply_to = {thread.in_reply_to};
  for (const auto& reference : thread.references)
    if (!reference.empty()) mail.references.push_back(reference);
  mail.date = clock_.now();
  mail.time_zone = box->time_zone;
  mail.automatic = automatic;
  mail.loop_marker = options_.loop_marker;

  Envelope envelope;
  // RFC 3834: an automatic reply goes out with the null return path, so that its failure cannot
  // bounce back into a loop; a person's reply is tied to its message for the bounce.
  envelope.mail_from = automatic ? std::string() : plus_address(box->address, "m" + message.message_id);
  envelope.recipients = {message.recipient};
  auto sent = send_mail(box->smtp, envelope, render(mail));
  if (!sent) {
    Error e = sent.error();
    // The outbox tells the operator about refused credentials (one code for every channel).
    if (e.code == "smtp_auth_failed" || e.code == "smtp_auth_required") {
      e.code = "invalid_credentials";
      return {SendOutcome::credentials_rejected, std::move(e)};
    }
    return e;
  }
  return Delivery{mail.message_id, "sent"};
}

}  // namespace switchboard::channels::email
