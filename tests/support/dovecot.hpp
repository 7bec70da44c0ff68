// A private Dovecot for the e-mail tests (tests/services/dovecot): the instance ./tests/run
// started (SWITCHBOARD_TEST_DOVECOT_DIR, SWITCHBOARD_TEST_IMAP_PORT, SWITCHBOARD_TEST_IMAPS_PORT),
// else one started here on first use, in a temporary folder, and stopped at exit. Several test
// processes may share one instance: take a fresh user per test (add_user), never `support`.
// Failures throw std::runtime_error (with the script's output).
#pragma once

#include <cstdint>
#include <string>

namespace switchboard::testing {

class Dovecot {
 public:
  static Dovecot& shared();

  ~Dovecot();  // stops an instance this process started
  Dovecot(const Dovecot&) = delete;
  Dovecot& operator=(const Dovecot&) = delete;

  int imap_port() const { return imap_port_; }    // plain IMAP on 127.0.0.1, offers STARTTLS
  int imaps_port() const { return imaps_port_; }  // implicit TLS on 127.0.0.1
  std::string dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/tls/ca.pem"; }  // signed the server's certificate

  // A new user with an empty mailbox: "<prefix>-<pid>-<n>" (prefix reduced to [a-z0-9._-]),
  // password = login + "-pass". Returns the login.
  std::string add_user(const std::string& prefix) const;
  // Delivers a raw message as an MTA would (dovecot-lda); the folder is created if missing.
  void deliver(const std::string& user, const std::string& raw, const std::string& folder = "INBOX") const;
  // Gives the folder a new UIDVALIDITY (every UID a client stored for it becomes invalid).
  void reset_uidvalidity(const std::string& user, const std::string& folder) const;
  // A message's flags as the server stores them (doveadm, not IMAP), e.g. "\Seen \Recent".
  std::string flags(const std::string& user, const std::string& folder, std::uint32_t uid) const;
  // How many messages the folder holds (doveadm), 0 when it does not exist.
  int count(const std::string& user, const std::string& folder) const;

 private:
  Dovecot();
  void start();
  std::string script() const;

  std::string dir_;
  int imap_port_ = 0;
  int imaps_port_ = 0;
  bool owned_ = false;  // started here: stop and remove at exit
};

}  // namespace switchboard::testing
