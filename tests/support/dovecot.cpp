// Client of tests/services/dovecot: finds or starts the shared instance, runs its subcommands.
#include "tests/support/dovecot.hpp"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace switchboard::testing {

namespace {

std::atomic<int> g_users{0};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string temp_file(const std::string& content) {
  char tmpl[] = "/tmp/sbdovecot-io-XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  for (std::size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot write a temporary file");
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  ::chmod(tmpl, 0644);  // the script may run the delivery as another (unprivileged) user
  return tmpl;
}

// Runs a shell command with `input` (when given) on its stdin; returns stdout+stderr, throws
// unless it exits 0. Files, not pipes: a child that fails early cannot SIGPIPE the test.
std::string run(const std::string& command, const std::string* input = nullptr) {
  const std::string out = temp_file("");
  const std::string in = input ? temp_file(*input) : std::string("/dev/null");
  const int status = std::system((command + " <" + in + " >" + out + " 2>&1").c_str());
  if (input) ::unlink(in.c_str());
  const char* tmpl = out.c_str();
  std::string output;
  if (FILE* f = fopen(tmpl, "rb")) {
    char buf[4096];
    while (const size_t n = fread(buf, 1, sizeof buf, f)) output.append(buf, n);
    fclose(f);
  }
  ::unlink(tmpl);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("`" + command + "` failed (status " + std::to_string(status) + "):\n" + output);
  return output;
}

// The value of `export NAME=value` in the script's output.
std::string exported(const std::string& output, const std::string& name) {
  const std::string key = "export " + name + "=";
  const auto at = output.find(key);
  if (at == std::string::npos) throw std::runtime_error("tests/services/dovecot printed no " + name + ":\n" + output);
  const auto start = at + key.size();
  return output.substr(start, output.find('\n', start) - start);
}

}  // namespace

Dovecot& Dovecot::shared() {
  static Dovecot instance;
  return instance;
}

Dovecot::Dovecot() {
  dir_ = env("SWITCHBOARD_TEST_DOVECOT_DIR");
  const std::string imap = env("SWITCHBOARD_TEST_IMAP_PORT");
  const std::string imaps = env("SWITCHBOARD_TEST_IMAPS_PORT");
  if (!dir_.empty() && !imap.empty() && !imaps.empty()) {
    imap_port_ = std::stoi(imap);
    imaps_port_ = std::stoi(imaps);
  } else {
    start();
  }
}

void Dovecot::start() {
  char tmpl[] = "/tmp/sbdovecot-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  const std::string parent = tmpl;
  ::chmod(parent.c_str(), 0755);  // the server may run as another (unprivileged) user
  dir_ = parent + "/dovecot";
  owned_ = true;
  const std::string output = run(script() + " start " + shell_quote(dir_));
  imap_port_ = std::stoi(exported(output, "SWITCHBOARD_TEST_IMAP_PORT"));
  imaps_port_ = std::stoi(exported(output, "SWITCHBOARD_TEST_IMAPS_PORT"));
}

Dovecot::~Dovecot() {
  if (!owned_) return;
  try {
    run(script() + " stop " + shell_quote(dir_));
  } catch (...) {
  }
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path(dir_).parent_path(), ignored);
}

std::string Dovecot::script() const { return std::string(SWITCHBOARD_SOURCE_DIR) + "/tests/services/dovecot"; }

std::string Dovecot::add_user(const std::string& prefix) const {
  std::string login;
  for (char c : prefix) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') login += c;
  }
  if (login.empty()) login = "user";
  login += "-" + std::to_string(::getpid()) + "-" + std::to_string(g_users++);
  run(script() + " add-user " + shell_quote(dir_) + " " + shell_quote(login));
  return login;
}

void Dovecot::deliver(const std::string& user, const std::string& raw, const std::string& folder) const {
  run(script() + " deliver " + shell_quote(dir_) + " " + shell_quote(user) + " " + shell_quote(folder), &raw);
}

void Dovecot::reset_uidvalidity(const std::string& user, const std::string& folder) const {
  run(script() + " reset-uidvalidity " + shell_quote(dir_) + " " + shell_quote(user) + " " + shell_quote(folder));
}

std::string Dovecot::flags(const std::string& user, const std::string& folder, std::uint32_t uid) const {
  std::string out = run(script() + " flags " + shell_quote(dir_) + " " + shell_quote(user) + " " + shell_quote(folder) +
                        " " + std::to_string(uid));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

int Dovecot::count(const std::string& user, const std::string& folder) const {
  const std::string out = run(script() + " count " + shell_quote(dir_) + " " + shell_quote(user) + " " + shell_quote(folder));
  try {
    return std::stoi(out);
  } catch (const std::exception&) {
    throw std::runtime_error("tests/services/dovecot count: unexpected output '" + out + "'");
  }
}

}  // namespace switchboard::testing
