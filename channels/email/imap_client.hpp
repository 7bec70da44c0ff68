// A small blocking IMAP4rev1 client (RFC 3501) of our own, for reading a support mailbox.
//
// Why our own: libcurl's IMAP has no IDLE, and its FETCH asks for BODY[], which sets \Seen before
// our transaction commits (we need BODY.PEEK[], then STORE \Seen or MOVE after the commit).
// libetpan and vmime are in Debian, but they are large C/C++ APIs for the handful of commands we
// need (SELECT, UID SEARCH, UID FETCH, UID STORE, UID MOVE, IDLE). This is one TCP connection,
// TLS through OpenSSL (already linked), and a response parser that takes literals anywhere.
//
// One ImapClient is one connection, used by one thread at a time (a moved-from client may only be
// destroyed or assigned to). Every call blocks for at most `timeout` per read or write (idle() for
// its max_wait). Failures come back as Result values, never exceptions:
// - unavailable: connection refused or lost, timeout, TLS failure, server BYE, NO [UNAVAILABLE]
//   (retry later; call connect() again first);
// - config "imap_login_failed": NO/BAD to LOGIN or AUTHENTICATE (wrong credentials); config also
//   for a server that cannot do the security asked for (no STARTTLS, LOGINDISABLED);
// - not_found: the folder (NO [NONEXISTENT]/[TRYCREATE]) or the message (expunged) is not there;
// - too_large: a message over the caller's limit ("message_too_large"), not downloaded;
// - invalid: protocol violations by the server, BAD answers, misuse (no folder selected).
// Messages carry the server's text (never the password) and `location` is "imap host:port".
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/core/result.hpp"

namespace switchboard::channels::email {

enum class ImapSecurity { none, starttls, tls };  // tls = implicit TLS (993)

struct ImapOptions {
  std::string host;
  std::uint16_t port = 993;
  ImapSecurity security = ImapSecurity::tls;
  std::string user;
  std::string password;
  std::chrono::milliseconds timeout{30000};  // connecting, and every wait for the server
  bool verify_certificate = true;            // chain and host name (or IP address)
  std::string ca_file;                       // PEM; empty: the system's trust store
  // A descriptor (an eventfd) that becomes readable when the owner stops: idle() then ends at
  // once, as if max_wait had passed. -1: none.
  int wake_fd = -1;
};

struct FolderState {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 0;  // 0 when the server did not say
  std::uint32_t exists = 0;
};

struct FetchedMail {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;  // RFC822.SIZE as the server reported it
  std::string raw;         // the message's bytes exactly as stored, CRLF line endings
};

class ImapClient {
 public:
  explicit ImapClient(ImapOptions options);
  ~ImapClient();  // closes the socket (no LOGOUT: call logout() for a polite goodbye)
  ImapClient(ImapClient&&) noexcept;
  ImapClient& operator=(ImapClient&&) noexcept;
  ImapClient(const ImapClient&) = delete;
  ImapClient& operator=(const ImapClient&) = delete;

  // Connects (dropping any previous connection), reads the greeting, learns the capabilities,
  // upgrades with STARTTLS when asked (refusing to go on in clear if the server cannot), and logs
  // in: AUTHENTICATE PLAIN when offered, else LOGIN. Credentials are only ever sent over TLS,
  // unless security == none.
  Status connect();
  // After connect(): capabilities as the server last announced them (case-insensitive), e.g.
  // "IDLE", "MOVE", "UIDPLUS", "AUTH=PLAIN".
  bool has_capability(std::string_view name) const;

  // SELECT (read-write). `folder` is UTF-8; it is sent in modified UTF-7 (RFC 3501 5.1.3).
  Result<FolderState> select(std::string_view folder);
  // UIDs above last_uid in the selected folder, ascending (UID SEARCH UID last+1:*, filtered:
  // "n:*" also matches the highest UID when that is below n).
  Result<std::vector<std::uint32_t>> uids_after(std::uint32_t last_uid);
  // (uid, RFC822.SIZE) for those of `uids` that still exist, ascending by uid.
  Result<std::vector<std::pair<std::uint32_t, std::uint64_t>>> sizes(const std::vector<std::uint32_t>& uids);
  // The whole message, by BODY.PEEK[] (never sets \Seen). Its size is asked first: a message over
  // max_bytes is refused (too_large "message_too_large") without downloading it.
  Result<FetchedMail> fetch(std::uint32_t uid, std::uint64_t max_bytes);
  // The header block alone, by BODY.PEEK[HEADER] (at most 1 MiB): what a log line about a mail
  // that is not downloaded (too large) names.
  Result<std::string> fetch_header(std::uint32_t uid);
  // UID STORE uid +FLAGS.SILENT (\Seen).
  Status mark_seen(std::uint32_t uid);
  // UID MOVE with the MOVE capability, else UID COPY + UID STORE \Deleted + UID EXPUNGE (UIDPLUS)
  // or EXPUNGE (which also expunges any other message already marked \Deleted).
  Status move(std::uint32_t uid, std::string_view folder);
  // LIST, then CREATE (and SUBSCRIBE, best effort) when the folder is not there yet.
  Status create_folder_if_missing(std::string_view folder);
  // IDLE (RFC 2177) in the selected folder until the server reports new mail (EXISTS: true) or
  // max_wait passes (false; capped at 29 minutes), then DONE. Returns true at once, without
  // IDLE, when an EXISTS that grew the folder arrived since the last select() or uids_after().
  // Without the IDLE capability: invalid "imap_idle_unsupported" (poll instead).
  Result<bool> idle(std::chrono::milliseconds max_wait);
  // LOGOUT and close; best effort, never fails. connect() may be called again afterwards.
  void logout();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Mailbox names on the wire (RFC 3501 5.1.3): UTF-8 <-> modified UTF-7 ("&-" for '&', "&AUE-"
// style base64 of UTF-16 with ',' for '/'). Errors: invalid "imap_bad_folder_name".
Result<std::string> encode_mailbox_name(std::string_view utf8);
Result<std::string> decode_mailbox_name(std::string_view modified_utf7);

}  // namespace switchboard::channels::email
