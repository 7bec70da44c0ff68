// switchboard mailbox audit: every mail in a mailbox's folders is stored (a message or a system
// message), quarantined, or not yet polled; anything else is listed (CONTRACT.md, Command line).
#include <iostream>
#include <unordered_set>

#include "channels/email/imap_client.hpp"
#include "channels/email/mime.hpp"
#include "daemon/commands.hpp"
#include "daemon/config.hpp"
#include "channels/email/adapter.hpp"
#include "storage/mailboxes.hpp"
#include "storage/system_messages.hpp"

namespace switchboard::daemon {

namespace {

namespace email = channels::email;

constexpr int kExitOk = 0;
constexpr int kExitSome = 1;
constexpr int kExitUsage = 2;

const char* kMailboxHelp =
    "usage: switchboard mailbox audit --config FILE [--mailbox NAME]\n"
    "\n"
    "Compares each configured mailbox (or the one named) with the database: every mail in its\n"
    "folder, processed folder and quarantine folder must be stored (as a message or a system\n"
    "message) or quarantined. Prints each mail that is neither, one per line with its UID,\n"
    "Message-ID and sender; mail newer than the last poll apart, as not yet polled; a count\n"
    "line per mailbox last. Reads mail with BODY.PEEK[]: nothing is marked or moved.\n"
    "exit: 0 none unaccounted; 1 some; 2 bad usage or config, or a mailbox or the database\n"
    "unreachable.\n";

struct Counts {
  long stored = 0, quarantined = 0, not_polled = 0, unaccounted = 0;
};

std::string field(const std::string& value) { return value.empty() ? "-" : value; }

// One mailbox; false when its server or the database cannot be reached.
bool audit(const email::Mailbox& box, storage::Pool& pool, Counts& counts) {
  auto stored_ids = storage::stored_external_ids(pool, Channel::email, box.name);
  if (!stored_ids) {
    std::cerr << "switchboard mailbox audit: " << box.name << ": " << stored_ids.error().message << "\n";
    return false;
  }
  const std::unordered_set<std::string> stored(stored_ids->begin(), stored_ids->end());
  auto position = storage::get_mailbox_position(pool, box.name, box.folder);
  if (!position) {
    std::cerr << "switchboard mailbox audit: " << box.name << ": " << position.error().message << "\n";
    return false;
  }
  email::ImapClient client(box.imap);
  if (auto connected = client.connect(); !connected) {
    std::cerr << "switchboard mailbox audit: " << box.name << ": " << connected.error().message << "\n";
    return false;
  }
  email::ParseOptions parse_options;
  parse_options.mailbox = box.name;
  std::vector<std::string> folders{box.folder};
  if (!box.processed_folder.empty()) folders.push_back(box.processed_folder);
  folders.push_back(box.quarantine_folder);
  for (const auto& folder : folders) {
    auto selected = client.select(folder);
    if (!selected) {
      if (folder != box.folder && selected.error().kind != ErrorKind::unavailable) continue;  // not created yet
      std::cerr << "switchboard mailbox audit: " << box.name << ": " << folder << ": " << selected.error().message
                << "\n";
      return false;
    }
    auto uids = client.uids_after(0);
    if (!uids) {
      std::cerr << "switchboard mailbox audit: " << box.name << ": " << uids.error().message << "\n";
      return false;
    }
    if (folder == box.quarantine_folder) {
      counts.quarantined += static_cast<long>(uids->size());
      continue;
    }
    const bool inbox = folder == box.folder;
    for (std::uint32_t uid : *uids) {
      std::string message_id, sender, why;
      bool accounted = false;
      auto fetched = client.fetch(uid, box.max_message_bytes);
      if (fetched) {
        const auto summary = email::summarize_headers(fetched->raw);
        message_id = summary.message_id;
        sender = summary.sender;
        auto parsed = email::parse_mail(fetched->raw, parse_options);
        if (parsed) accounted = stored.contains(parsed->message.external_id);
        else why = parsed.error().message;
      } else if (fetched.error().kind == ErrorKind::too_large) {
        why = fetched.error().message;
        if (auto header = client.fetch_header(uid)) {
          const auto summary = email::summarize_headers(*header);
          message_id = summary.message_id;
          sender = summary.sender;
        }
      } else {
        std::cerr << "switchboard mailbox audit: " << box.name << ": " << fetched.error().message << "\n";
        return false;
      }
      if (accounted) {
        ++counts.stored;
        continue;
      }
      const bool polled = *position && (*position)->uidvalidity == selected->uidvalidity &&
                          uid <= (*position)->last_uid;
      const bool pending = inbox && !polled;
      ++(pending ? counts.not_polled : counts.unaccounted);
      std::cout << (pending ? "not_yet_polled" : "unaccounted") << " mailbox=" << box.name << " folder=" << folder
                << " uid=" << uid << " message_id=" << field(message_id) << " sender=" << field(sender);
      if (!why.empty()) std::cout << " note=\"" << why << "\"";
      std::cout << "\n";
    }
  }
  client.logout();
  return true;
}

}  // namespace

int cmd_mailbox(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << kMailboxHelp;
      return kExitOk;
    }
  if (args.empty() || args[0] != "audit") {
    std::cerr << "switchboard mailbox: expected 'audit'\n" << kMailboxHelp;
    return kExitUsage;
  }
  ParsedArgs parsed;
  std::string error;
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (!parse_args(rest, {"config", "mailbox"}, {}, parsed, error) || !parsed.positional.empty() ||
      !parsed.has("config")) {
    std::cerr << "switchboard mailbox audit: " << (error.empty() ? "--config FILE is required" : error) << "\n"
              << kMailboxHelp;
    return kExitUsage;
  }
  auto loaded = load_config(*parsed.get("config"));
  for (const auto& d : loaded.diagnostics) std::cerr << d.format() << "\n";
  if (!loaded.config) return kExitUsage;
  const Config& config = *loaded.config;
  std::vector<const email::Mailbox*> boxes;
  const auto* mail = channel_options<email::Options>(config, "email");
  static const std::vector<email::Mailbox> kNone;
  for (const auto& box : mail ? mail->mailboxes : kNone)
    if (!parsed.has("mailbox") || box.name == *parsed.get("mailbox")) boxes.push_back(&box);
  if (boxes.empty()) {
    std::cerr << "switchboard mailbox audit: "
              << (parsed.has("mailbox") ? "no mailbox '" + *parsed.get("mailbox") + "' in the config"
                                        : std::string("the config has no mailboxes"))
              << "\n";
    return kExitUsage;
  }
  storage::Pool pool(storage::PoolOptions{.url = config.database_url, .size = 1,
                                          .acquire_timeout = std::chrono::milliseconds{5000},
                                          .connect_timeout = config.connect_timeout});
  long unaccounted = 0;
  for (const auto* box : boxes) {
    Counts counts;
    if (!audit(*box, pool, counts)) return kExitUsage;
    unaccounted += counts.unaccounted;
    std::cout << "mailbox " << box->name << ": " << counts.stored << " stored, " << counts.quarantined
              << " quarantined, " << counts.not_polled << " not yet polled, " << counts.unaccounted
              << " unaccounted\n";
  }
  return unaccounted == 0 ? kExitOk : kExitSome;
}

}  // namespace switchboard::daemon
