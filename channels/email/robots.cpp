#include "channels/email/robots.hpp"

#include <algorithm>
#include <cstdint>
#include <span>

namespace switchboard::channels::email {

namespace {

constexpr std::size_t kTextScanned = 16 * 1024;  // bounce texts say what they are at the start

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

const std::string* header(const MailFacts& facts, std::string_view name) {
  for (const auto& h : facts.headers)
    if (h.name == name) return &h.value;
  return nullptr;
}

bool contains_any(std::string_view haystack, std::span<const std::string_view> needles) {
  for (std::string_view n : needles)
    if (haystack.find(n) != std::string_view::npos) return true;
  return false;
}

bool starts_with_any(std::string_view haystack, std::span<const std::string_view> prefixes) {
  for (std::string_view p : prefixes)
    if (haystack.substr(0, p.size()) == p) return true;
  return false;
}

// Patterns are written folded (fold_case) and matched as substrings of the folded text.
constexpr std::string_view kBounceSubjects[] = {
    // English (and what Gmail, Exchange, Postfix, Exim, qmail and Yahoo put there)
    "undeliverable", "undelivered mail", "undelivered message", "delivery status notification",
    "delivery failure", "delivery failed", "delivery has failed", "mail delivery failed", "mail delivery failure",
    "returned mail", "failure notice", "non-deliverable", "nondeliverable", "non-delivery", "non delivery",
    "could not be delivered", "message not delivered", "not delivered:", "delivery problem", "mail system error",
    "returned to sender", "delivery notification: delivery has failed", "warning: could not send message",
    // Polish
    "niedostarczalne", "niedostarczona", "niedostarczono", "nie można dostarczyć", "nie dostarczono",
    "błąd dostarczania", "błąd dostarczenia", "zwrot poczty", "wiadomość zwrócona", "nie można doręczyć",
    "niedoręczon",
    // German
    "unzustellbar", "nicht zustellbar", "zustellung fehlgeschlagen", "fehler bei der zustellung",
    "nicht zugestellt", "übermittlungsstatus", "zustellungsfehler",
    // French
    "non remis", "non distribuable", "échec de la remise", "échec de remise", "rapport de non-remise",
    "notification d'état de remise", "impossible de remettre", "non délivré", "message retourné",
    "échec de distribution", "échec de livraison"};

constexpr std::string_view kAutoReplySubjects[] = {
    "auto-reply", "autoreply", "auto reply", "automatic reply", "automatic response", "auto-response",
    "autoresponse", "automated response", "automated reply", "out of office", "out of the office",
    "odpowiedź automatyczna", "automatyczna odpowiedź", "autoodpowiedź", "poza biurem", "nieobecność w biurze",
    "jestem nieobecn", "automatische antwort", "automatische rückantwort", "abwesenheitsnotiz", "außer haus",
    "ausser haus", "nicht im büro", "réponse automatique", "absence du bureau", "absent du bureau",
    "message d'absence"};

// Read receipts: these begin the subject ("Read: Zamówienie 123")...
constexpr std::string_view kReceiptPrefixes[] = {"read:", "przeczytano:", "przeczytane:",
                                                                      "gelesen:", "lu :", "lu:"};
// ...these may stand anywhere in it.
constexpr std::string_view kReceiptSubjects[] = {
    "read receipt", "return receipt", "potwierdzenie przeczytania", "lesebestätigung", "accusé de lecture",
    "notification de lecture"};

constexpr std::string_view kVirusSubjects[] = {
    "virus", "wirus", "malware", "infected", "zainfekowan", "infiziert", "infecté", "antivirus", "quarantined"};

// What bounce texts say in their first lines, whoever sent them.
constexpr std::string_view kBounceTexts[] = {
    "this is the mail system at host",                                  // Postfix
    "i'm sorry to have to inform you that your message could not",      // old Postfix
    "this is the qmail-send program",                                   // qmail
    "i'm afraid i wasn't able to deliver your message",                 // qmail
    "this message was created automatically by mail delivery software", // Exim
    "a message that you sent could not be delivered",                   // Exim
    "the following addresses had permanent fatal errors",               // sendmail
    "the original message was received at",                            // sendmail
    "sorry, we were unable to deliver your message",                    // Yahoo
    "delivery to the following recipient failed",                       // Gmail, Exchange
    "delivery to the following recipients failed",
    "delivery has failed to these recipients",                          // Exchange
    "your message did not reach some or all of the intended recipients",
    "your message couldn't be delivered",                               // Office 365
    "your message wasn't delivered",
    "your message cannot be delivered to the following recipients",     // Netscape, iPlanet
    "unable to deliver message to the following",
    "could not be delivered to one or more recipients",
    "message could not be delivered",
    "undeliverable message",
    "delivery status notification",
    "permanent error. the following address",
    "mail delivery failed: returning message to sender",
    // Polish
    "wiadomość nie została dostarczona", "nie można dostarczyć wiadomości", "nie mogła zostać dostarczona",
    "nie został dostarczony", "nie udało się dostarczyć", "wiadomości nie można było dostarczyć",
    "to jest automatycznie wygenerowana wiadomość",
    // German
    "dies ist eine automatisch erstellte benachrichtigung", "konnte nicht zugestellt werden",
    "ihre nachricht konnte nicht", "zustellung an folgende empfänger fehlgeschlagen",
    "die nachricht konnte nicht zugestellt werden", "dies ist die mail-software",
    // French
    "votre message n'a pas pu être remis", "ce message a été créé automatiquement",
    "n'a pas pu être remis", "n'a pas pu être distribué", "échec de la remise", "impossible de remettre le message",
    "le message suivant n'a pas pu être"};

constexpr std::string_view kVirusTexts[] = {
    "virus was found", "virus found", "contained a virus", "contains a virus", "infected with", "malware was detected",
    "wykryto wirus", "zawierała wirus", "virus gefunden", "virus détecté", "has been quarantined"};

std::string local_of(std::string_view address) {
  const std::size_t at = address.rfind('@');
  return lower_ascii(at == std::string_view::npos ? address : address.substr(0, at));
}

}  // namespace

bool classifier_reads_value(std::string_view name) {
  return name == "auto-submitted" || name == "precedence" || name == "x-auto-response-suppress" ||
         name == "x-switchboard-loop" || name == "x-failed-recipients";
}

std::string fold_case(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
      continue;
    }
    if ((c == 0xC3 || c == 0xC4 || c == 0xC5) && i + 1 < s.size()) {
      const auto d = static_cast<unsigned char>(s[i + 1]);
      if (d < 0x80 || d > 0xBF) {
        out.push_back(static_cast<char>(c));
        continue;
      }
      std::uint32_t cp = ((c & 0x1Fu) << 6) | (d & 0x3Fu);
      if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) cp += 0x20;  // À-Þ
      else if ((cp >= 0x100 && cp <= 0x137 && cp % 2 == 0) || (cp >= 0x139 && cp <= 0x148 && cp % 2 == 1) ||
               (cp >= 0x14A && cp <= 0x177 && cp % 2 == 0) || (cp >= 0x179 && cp <= 0x17E && cp % 2 == 1))
        cp += 1;  // Latin Extended-A: Ą Ć Ę Ł Ń Ś Ź Ż, Œ...
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      ++i;
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string effective_local_part(std::string_view address) {
  std::string local = local_of(trim(address));
  // BATV: prvs=TAG=local (also msprvs1=TAG=local, btv1==TAG==local): the last '=' part.
  for (std::string_view prefix : {"prvs=", "msprvs1=", "msprvs=", "btv1=="}) {
    if (local.rfind(prefix, 0) == 0) {
      const std::size_t last = local.rfind('=');
      if (last != std::string::npos && last + 1 < local.size()) return local.substr(last + 1);
    }
  }
  // SRS: SRS0=HASH=TT=domain=local, SRS1=...=...==...=local
  if (local.rfind("srs0=", 0) == 0 || local.rfind("srs1=", 0) == 0) {
    const std::size_t last = local.rfind('=');
    if (last != std::string::npos && last + 1 < local.size()) return local.substr(last + 1);
  }
  return local;
}

bool machine_local_part(std::string_view address) {
  const std::string local = effective_local_part(address);
  if (local.empty()) return false;
  static constexpr std::string_view kExact[] = {
      "mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "ndr", "nondelivery", "non-delivery",
      "bounce", "bounces", "bounce-handler", "mail-daemon", "maildaemon", "autoreply", "auto-reply",
      "autoresponder", "auto-responder", "autorespond", "antivirus", "virusalert", "virus-alert", "mdaemon",
      "mail-delivery", "maildelivery", "mailsystem", "mail-system", "abuse-report", "dmarc-reports", "dmarc_reports"};
  for (std::string_view e : kExact)
    if (local == e) return true;
  for (std::string_view marker : {"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
                                  "mailer-daemon", "mail_service", "mailservice", "smtp_mail"})
    if (local.find(marker) != std::string::npos) return true;
  // E500_SMTP_Mail_Service, E600_... (Exchange gateways); Exchange's own NDR sender.
  if (local.size() > 5 && local[0] == 'e' && local.find("_smtp") != std::string::npos) return true;
  if (local.rfind("microsoftexchange", 0) == 0) return true;
  return (local.size() > 8 && local.compare(local.size() - 8, 8, "-request") == 0) || local.rfind("owner-", 0) == 0;
}

Classification classify_mail(const MailFacts& f) {
  Classification out;
  auto decide = [&out](Verdict v, std::string reason, std::string kind = {}) {
    out.verdict = v;
    out.reason = std::move(reason);
    out.system_kind = std::move(kind);
    return out;
  };

  // Reports by their structure (RFC 6522): about mail, never a customer's words.
  if (f.top_report || f.dsn_part) {
    const std::string& t = f.report_type;
    if (t == "delivery-status" || t == "global-delivery-status" || (t.empty() && f.dsn_part))
      return decide(Verdict::system, "multipart/report", "bounce");
    if (t == "disposition-notification" || t == "global-disposition-notification")
      return decide(Verdict::system, "multipart/report", "read_receipt");
    if (t == "feedback-report") return decide(Verdict::system, "multipart/report", "abuse_report");
    if (f.dsn_part) return decide(Verdict::system, "message/delivery-status part", "bounce");
    return decide(Verdict::system, "multipart/report", "notification");
  }

  const std::string subject = fold_case(f.subject);
  std::string text = fold_case(f.text.substr(0, std::min(f.text.size(), kTextScanned)));
  // Unwrap: bounce texts are wrapped anywhere.
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  std::string unwrapped;
  unwrapped.reserve(text.size());
  for (char c : text)
    if (!(c == ' ' && !unwrapped.empty() && unwrapped.back() == ' ')) unwrapped.push_back(c);

  const bool null_return_path = f.has_return_path && f.return_path.empty();
  const bool machine_sender = machine_local_part(f.sender) || machine_local_part(f.return_path);
  const bool failed_recipients = header(f, "x-failed-recipients") != nullptr;
  const bool bounce_subject = contains_any(subject, kBounceSubjects);
  const bool bounce_text = contains_any(unwrapped, kBounceTexts);
  const bool virus_text = contains_any(unwrapped, kVirusTexts);
  const bool virus = contains_any(subject, kVirusSubjects) || virus_text;
  const bool receipt = starts_with_any(subject, kReceiptPrefixes) || contains_any(subject, kReceiptSubjects);

  // RFC 3834 and the de-facto headers of autoresponders, in protocols/email.md's order (the
  // first that holds names the reason), then the headers seen on robots' mail since.
  std::string automatic;
  auto flag = [&automatic](std::string reason) {
    if (automatic.empty()) automatic = std::move(reason);
  };
  if (const std::string* v = header(f, "auto-submitted")) {
    std::string value = lower_ascii(*v);
    value = std::string(trim(value.substr(0, value.find_first_of(";("))));
    if (!value.empty() && value != "no") flag("Auto-Submitted: " + value);
  }
  if (null_return_path) flag("null return path");
  if (header(f, "list-id")) flag("List-Id header");
  for (const auto& h : f.headers)
    if (h.name.rfind("list-", 0) == 0) {
      flag(h.written.substr(0, 60) + " header");
      break;
    }
  if (const std::string* v = header(f, "precedence")) {
    std::string value = lower_ascii(trim(*v));
    value.resize(std::min(value.size(), value.find_first_of(" \t;(")));  // "bulk (newsletter)"
    if (value == "bulk" || value == "list" || value == "junk" || value == "auto_reply" || value == "auto-reply")
      flag("Precedence: " + value);
  }
  if (machine_sender)
    flag("sender " + effective_local_part(machine_local_part(f.sender) ? f.sender : f.return_path));
  if (const std::string* v = header(f, "x-auto-response-suppress")) {
    std::string token;
    const std::string value = lower_ascii(*v);
    for (std::size_t i = 0; i <= value.size(); ++i) {
      if (i < value.size() && value[i] != ',' && !is_wsp(value[i])) {
        token.push_back(value[i]);
        continue;
      }
      if (token == "all" || token == "autoreply" || token == "oof") {
        flag("X-Auto-Response-Suppress: " + v->substr(0, 60));
        break;
      }
      token.clear();
    }
  }
  for (const auto& h : f.headers)
    if (h.name == "x-autoreply" || h.name == "x-autorespond" || h.name == "x-auto-reply" ||
        h.name == "x-autogenerated" || h.name == "x-ms-exchange-generated-message-source" ||
        h.name == "x-ms-exchange-inbox-rules-loop" || h.name == "feedback-id" || h.name == "x-campaign")
      flag(h.written.substr(0, 60) + " header");
  if (!f.loop_marker.empty())
    for (const auto& h : f.headers)
      if (h.name == "x-switchboard-loop" && trim(h.value) == trim(f.loop_marker)) flag("our loop marker");

  const bool robot = !automatic.empty() || failed_recipients;
  // A bounce in any of its many shapes: said by the text or the headers, sent by a robot.
  if (failed_recipients) return decide(Verdict::system, "X-Failed-Recipients header", "bounce");
  if (bounce_text && (robot || bounce_subject))
    return decide(Verdict::system, bounce_subject ? "bounce subject and text" : "bounce text from an automatic sender",
                  "bounce");
  if (bounce_subject && robot) return decide(Verdict::system, "bounce subject from an automatic sender", "bounce");
  if (virus && robot) return decide(Verdict::system, "virus notification from an automatic sender", "notification");
  if (receipt && robot)
    return decide(Verdict::system, "read receipt from an automatic sender", "read_receipt");

  if (!automatic.empty()) return decide(Verdict::automatic, automatic);

  // A person may have written these: routed, but no robot of ours answers them.
  if (bounce_subject || bounce_text) return decide(Verdict::unsure, "subject or text of a delivery failure");
  if (contains_any(subject, kAutoReplySubjects)) return decide(Verdict::unsure, "subject of an automatic reply");
  if (receipt) return decide(Verdict::unsure, "subject of a read receipt");
  if (virus_text) return decide(Verdict::unsure, "text of a virus notification");
  if (f.sender.empty()) return decide(Verdict::unsure, "no sender address");
  if (!f.addressed_to_us) return decide(Verdict::unsure, "not addressed to any of our addresses (Bcc?)");
  return out;
}

}  // namespace switchboard::channels::email
