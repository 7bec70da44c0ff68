// The e-mail channel: raw mail from a mailbox into InboundEvents, replies out by SMTP, threaded
// (protocols/email.md). Each mailbox is fetched by its poller (channels/email/poller.hpp, the
// adapter's background work, with imap_client.hpp); this adapter holds what every mailbox needs
// to parse and to send.
// Reply tokens: our mail carries Reply-To local+c{conversation}.{signature}@domain, the signature
// an HMAC of the conversation id with the configured token secret, so a stranger cannot guess
// the address of another customer's thread. Only verified tokens reach the pipeline, as
// conversation ids.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "channels/adapter.hpp"
#include "channels/config.hpp"
#include "channels/email/imap_client.hpp"
#include "channels/email/poller.hpp"
#include "channels/email/smtp.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels::email {

struct Mailbox {
  std::string name;          // ours: the `account` of its conversations
  std::string address;       // the support address, e.g. obsluga@support.example.com
  std::vector<std::string> aliases;  // other addresses delivered to this mailbox (kontakt@, biuro@)
  std::string display_name;  // "Obsługa klienta"
  std::string time_zone = "Europe/Warsaw";  // of the Date header our replies carry
  SmtpOptions smtp;
  std::size_t max_attachment_bytes = 10 * 1024 * 1024;
  // Intake (channels/email/poller.hpp).
  ImapOptions imap;
  std::string folder = "INBOX";
  std::string processed_folder;  // "": processed mail is marked \Seen and stays
  // Mail that cannot be stored (too large, not a message, refused by the database) is moved here
  // with a log line; created when missing. Never empty: set aside never means merely \Seen.
  std::string quarantine_folder = "Quarantine";
  std::chrono::milliseconds poll_interval{30000};
  bool idle = true;  // wait with IMAP IDLE where the server has it
  std::size_t max_message_bytes = 25 * 1024 * 1024;
};

struct Options {
  std::vector<Mailbox> mailboxes;
  std::string token_secret;  // signs reply tokens; required
  std::string loop_marker = "switchboard";  // our X-Switchboard-Loop value: mail carrying it is our own
  // At most one automatic reply per address within this (RFC 3834: a responder must not answer
  // the same sender again and again).
  std::chrono::milliseconds auto_reply_interval{3600000};
};

class EmailAdapter final : public Adapter {
 public:
  using Options = email::Options;
  EmailAdapter(Options options, const Clock& clock);
  ~EmailAdapter() override;
  // channels.email (channels/email/config.cpp).
  static std::optional<Options> read_config(config::Reader& r, const YAML::Node& section, const Settings& settings);

  std::string_view name() const override { return "email"; }
  Posture posture() const override;
  // Mail does not come over HTTP: always not_found.
  Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) override;
  // No routes: one poller per mailbox, started with start() once the schema is current.
  Status attach(Host& host) override;
  void start() override;
  void stop() override;
  std::string_view source_kind() const override { return "mailboxes"; }
  std::vector<SourceStatus> sources() const override;
  std::optional<Duration> auto_reply_interval() const override { return options_.auto_reply_interval; }

  // One raw message of `mailbox` as exactly one event: a SystemMessage for a report about mail
  // (a bounce or delivery report, with the status it gives our reply it concerns; a read
  // receipt, an abuse report, a virus notification), else an InboundMessage (automated set for
  // mail no rule may see, automatic_unsure for mail no automatic reply may answer; mail without
  // a sender address is the mailbox's "unknown sender"). Defects of malformed mail are returned
  // in `defects` for the log. Errors: invalid "not_a_message", not_found "unknown_mailbox".
  Result<std::vector<InboundEvent>> parse_mail(std::string_view raw, const std::string& mailbox,
                                               std::vector<std::string>* defects = nullptr) const;

  // "c1042.k7Hq2Xv9Ab": the token our mail for conversation 1042 carries.
  std::string reply_token(std::string_view conversation_id) const;
  // The conversation id a token names, "" when it is not one of ours.
  std::string verify_token(std::string_view token) const;

  // Renders and submits the reply: Message-ID on the mailbox's domain (returned as the
  // Delivery's external_id), In-Reply-To/References and "Re: subject [#conversation]" from the
  // payload's "email" object, Reply-To with the conversation's token. An automatic reply (no
  // "author" in the payload) carries Auto-Submitted: auto-replied and goes out with the null
  // return path; an agent's goes out with local+m{message}@domain so that a bounce finds
  // it. Errors: those of send_mail(); config "unknown_mailbox"; invalid "no_recipient".
  SendResult send(const OutboundMessage& message) override;
  // SMTP has no way to ask whether the server took the mail: it is sent again, composed with the
  // same Message-ID (make_message_id with a token derived from the message), which clients and
  // archives that de-duplicate on Message-ID show once. Others may show it twice.
  Result<ResendCheck> check_resend(const OutboundMessage&, Timestamp) override {
    return ResendCheck{{}, "at-least-once: sent again with the same Message-ID", false};
  }

  const Mailbox* mailbox(std::string_view name) const;

 private:
  Options options_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Poller>> pollers_;
};

}  // namespace switchboard::channels::email
