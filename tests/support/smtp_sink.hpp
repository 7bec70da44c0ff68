// A real SMTP receiver for the e-mail tests (tests/services/smtp_sink.py, aiosmtpd): the instance
// ./tests/run started (SWITCHBOARD_TEST_SMTP_PORT, _DIR, _CA, _USER, _PASSWORD), else one started
// here on first use (self-signed certificate, STARTTLS and AUTH required) and stopped at exit.
// Several test processes may share one sink: send to addresses no other test uses, and always
// filter by recipient. Failures throw std::runtime_error.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace switchboard::testing {

struct ReceivedMail {
  std::string mail_from;               // "" for the null return path
  std::string mail_from_command;       // the MAIL argument as sent, e.g. "FROM:<> SIZE=412"
  std::vector<std::string> rcpt_tos;
  std::string raw;                     // the message as received (dot-unstuffed, CRLF)
  bool tls = false;                    // sent after STARTTLS
  std::string auth_user;               // "" without AUTH
};

class SmtpSink {
 public:
  static SmtpSink& shared();

  ~SmtpSink();  // stops a sink this process started
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const { return port_; }                       // on 127.0.0.1; offers STARTTLS
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& ca_file() const { return ca_file_; }  // the server's self-signed certificate
  const std::string& dir() const { return dir_; }          // where the mail is kept

  // Accepted mail, oldest first; with `rcpt`, only mail with that recipient (any case).
  std::vector<ReceivedMail> received(const std::string& rcpt = "") const;
  // Polls until at least n messages to `rcpt` arrived or the timeout passed; returns them.
  std::vector<ReceivedMail> wait_for(const std::string& rcpt, std::size_t n,
                                     std::chrono::milliseconds timeout = std::chrono::seconds{10}) const;

  // RCPT TO `address` is refused from now on: 550 5.1.1.
  void reject_rcpt(const std::string& address) const;
  // The next DATA is refused once with 451 4.3.0: the next one to `rcpt` when given (other
  // processes' mail is left alone), else whichever comes first.
  void tempfail_once(const std::string& rcpt = "") const;

  // The sink's log when this process started it; empty for a shared one.
  std::string log() const;

 private:
  SmtpSink();
  void start();

  int port_ = 0;
  std::string user_;
  std::string password_;
  std::string ca_file_;
  std::string dir_;
  std::string scratch_;  // the folder of a sink started here (certificate, port file, log, mail)
  pid_t pid_ = -1;
};

}  // namespace switchboard::testing
