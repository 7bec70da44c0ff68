// The SMTP sink for tests: the shared instance, or one started (and stopped) by this process.
#include "tests/support/smtp_sink.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.hpp"

namespace switchboard::testing {

namespace {

namespace fs = std::filesystem;

constexpr auto kStartTimeout = std::chrono::seconds{10};
constexpr auto kPoll = std::chrono::milliseconds{20};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return s;
}

// Writes `data` to `path` under a temporary name first: the sink never reads half a file.
void atomic_write(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) throw std::runtime_error("smtp sink: cannot write " + tmp);
  }
  fs::rename(tmp, path);
}

// Debian's interpreter: python3-aiosmtpd is installed for it, not for a python3 earlier in PATH.
std::string python() { return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

void close_inherited_fds() {
  if (close_range(3, ~0U, 0) != 0)
    for (int fd = 3; fd < 4096; ++fd) close(fd);
}

// Forks and execs `args` with stdin from /dev/null and stdout/stderr appended to `log_file`.
pid_t spawn(std::vector<std::string> args, const std::string& log_file) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("smtp sink: fork failed");
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null_fd < 0 || log_fd < 0) _exit(127);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    close_inherited_fds();
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

SmtpSink& SmtpSink::shared() {
  static SmtpSink sink;
  return sink;
}

SmtpSink::SmtpSink() {
  const std::string port = env("SWITCHBOARD_TEST_SMTP_PORT");
  const std::string dir = env("SWITCHBOARD_TEST_SMTP_DIR");
  if (!port.empty() && !dir.empty()) {
    port_ = std::stoi(port);
    dir_ = dir;
    ca_file_ = env("SWITCHBOARD_TEST_SMTP_CA");
    user_ = env("SWITCHBOARD_TEST_SMTP_USER");
    password_ = env("SWITCHBOARD_TEST_SMTP_PASSWORD");
  } else {
    start();
  }
}

void SmtpSink::start() {
  char tmpl[] = "/tmp/sbsmtp-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("smtp sink: mkdtemp failed");
  scratch_ = tmpl;
  dir_ = scratch_ + "/mail";
  fs::create_directories(dir_);
  ca_file_ = scratch_ + "/cert.pem";
  const std::string key = scratch_ + "/key.pem";
  const std::string log_file = scratch_ + "/sink.log";
  const std::string port_file = scratch_ + "/port";
  user_ = "sink-user";
  password_ = "sink-pass-" + std::to_string(std::random_device{}() % 1000000000U);

  const pid_t openssl = spawn({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                               "-nodes", "-days", "7", "-subj", "/CN=localhost", "-addext",
                               "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", ca_file_},
                              log_file);
  int status = 0;
  waitpid(openssl, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("smtp sink: openssl could not make a certificate; log:\n" + log());

  const std::string script = std::string(SWITCHBOARD_SOURCE_DIR) + "/tests/services/smtp_sink.py";
  pid_ = spawn({python(), script, "--port", "0", "--port-file", port_file, "--dir", dir_, "--tls-cert", ca_file_,
                "--tls-key", key, "--auth", user_ + ":" + password_, "--exit-with-parent"},
               log_file);
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!fs::exists(port_file)) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("smtp_sink.py exited at start; log:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("smtp_sink.py did not start within 10 s; log:\n" + log());
    std::this_thread::sleep_for(kPoll);
  }
  port_ = std::stoi(read_file(port_file));
}

SmtpSink::~SmtpSink() {
  stop_child(pid_);
  if (!scratch_.empty()) {
    std::error_code ignored;
    fs::remove_all(scratch_, ignored);
  }
}

std::vector<ReceivedMail> SmtpSink::received(const std::string& rcpt) const {
  std::vector<std::pair<long, ReceivedMail>> found;
  const std::string wanted = lower(rcpt);
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const fs::path path = entry.path();
    const std::string stem = path.stem().string();
    if (path.extension() != ".json" || stem.empty() ||
        !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    const boost::json::value record = boost::json::parse(read_file(path.string()));
    const auto& o = record.as_object();
    ReceivedMail mail;
    mail.mail_from = std::string(o.at("mail_from").as_string());
    if (const auto* arg = o.if_contains("mail_from_arg"); arg && arg->is_string())
      mail.mail_from_command = std::string(arg->as_string());
    bool match = wanted.empty();
    for (const auto& r : o.at("rcpt_tos").as_array()) {
      mail.rcpt_tos.emplace_back(r.as_string());
      if (lower(mail.rcpt_tos.back()) == wanted) match = true;
    }
    if (!match) continue;
    if (const auto* tls = o.if_contains("tls"); tls && tls->is_bool()) mail.tls = tls->as_bool();
    if (const auto* user = o.if_contains("auth_user"); user && user->is_string())
      mail.auth_user = std::string(user->as_string());
    mail.raw = read_file((path.parent_path() / (stem + ".eml")).string());
    found.emplace_back(std::stol(stem), std::move(mail));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ReceivedMail> out;
  for (auto& [n, mail] : found) out.push_back(std::move(mail));
  return out;
}

std::vector<ReceivedMail> SmtpSink::wait_for(const std::string& rcpt, std::size_t n,
                                             std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto mails = received(rcpt);
    if (mails.size() >= n || std::chrono::steady_clock::now() > deadline) return mails;
    std::this_thread::sleep_for(kPoll);
  }
}

void SmtpSink::reject_rcpt(const std::string& address) const {
  // One short append per address: lines from several processes do not interleave.
  std::ofstream out(dir_ + "/reject-rcpt", std::ios::app);
  out << address << "\n";
  out.flush();
  if (!out) throw std::runtime_error("smtp sink: cannot write " + dir_ + "/reject-rcpt");
}

void SmtpSink::tempfail_once(const std::string& rcpt) const {
  atomic_write(dir_ + "/tempfail", rcpt.empty() ? std::string() : rcpt + "\n");
}

std::string SmtpSink::log() const { return scratch_.empty() ? std::string() : read_file(scratch_ + "/sink.log"); }

}  // namespace switchboard::testing
