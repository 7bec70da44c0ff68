// Replies sent once (and requests answered once) through faults, against the real binary, a real
// PostgreSQL and the Twilio fake, which lists the messages it accepted as Twilio's API does:
// - SIGKILL while SMS replies are at Twilio without an answer: the restarted daemon takes the
//   dead one's rows back at once (not after the 5-minute lease), finds the ones Twilio has and
//   records them instead of sending them again;
// - an answer that never comes (the send times out after Twilio created the message);
// - PostgreSQL restarted while sends are in flight: results are recorded once it is back;
// - SIGTERM under keep-alive load: every stored message was answered 200.
// SWITCHBOARD_FAULT_SCALE (default 1) multiplies the message counts and kill rounds: the longer
// campaign of tests/faults/replies_once.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/daemon_process.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/private_cluster.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

int scale() {
  const char* s = std::getenv("SWITCHBOARD_FAULT_SCALE");
  const int n = s ? std::atoi(s) : 1;
  return n >= 1 ? n : 1;
}

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = -6;
  for (unsigned char c : in) {
    value = (value << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += kAlphabet[(value >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6) out += kAlphabet[((value << 8) >> (bits + 8)) & 0x3F];
  while (out.size() % 4) out += '=';
  return out;
}

// An account of this test alone at the shared Twilio fake, sending from one number.
struct TwilioAccount {
  std::string sid;
  std::string token;
  std::string number = "+48732000111";
};

TwilioAccount fresh_account() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  TwilioAccount a;
  a.sid = "AC" + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  a.sid.resize(34, '7');
  a.token = "tw-once-" + a.sid.substr(2, 12);
  FakeServer::twilio().post("/_fake/accounts",
                            json::object{{"sid", a.sid}, {"auth_token", a.token}, {"numbers", json::array{a.number}}});
  return a;
}

DaemonOptions with_twilio(const std::string& database_url, const TwilioAccount& a, const std::string& send_timeout) {
  DaemonOptions o;
  o.database_url = database_url;
  o.rules_yaml = kTestRules;
  // The default 5-minute lease: only the instance lock can bring a dead daemon's rows back
  // within the test's time.
  o.extra_config =
      "public_url: https://switchboard.example.com\n"
      "outbox: { workers: 2, sweep_interval: 100ms, retry: { base: 100ms, cap: 300ms, max_attempts: 8 } }\n";
  o.channels_extra = "  twilio:\n    api_url: " + FakeServer::twilio().base_url() +
                     "\n    send_timeout: " + send_timeout +
                     "\n    status_callbacks: false\n    accounts:\n      main:\n        account_sid: " + a.sid +
                     "\n        auth_tokens: { secret: tw }\n        from: \"" + a.number + "\"\n";
  o.env = {{"SWITCHBOARD_SECRET_TW", a.token}};
  return o;
}

std::string phone(int i) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "+48601%06d", i);
  return buf;
}

// An inbound SMS, signed by the fake as Twilio signs it; the daemon's status.
long inbound_sms(const DaemonProcess& d, const TwilioAccount& a, const std::string& message_sid,
                 const std::string& from) {
  json::object params{{"AccountSid", a.sid}, {"MessageSid", message_sid},    {"From", from},
                      {"To", a.number},      {"Body", "Awaria: nie działa"}, {"NumMedia", "0"}};
  auto r = FakeServer::twilio().post(
      "/_fake/sms", json::object{{"url", d.url("/webhooks/twilio/sms?account=main")},
                                 {"signed_url", "https://switchboard.example.com/webhooks/twilio/sms?account=main"},
                                 {"auth_token", a.token},
                                 {"params", params}});
  return static_cast<long>(r.at("status").as_int64());
}

// What the fake accepted for the account, per recipient, read as a Twilio client would: page
// after page, following next_page_uri.
std::map<std::string, int> accepted(const TwilioAccount& a) {
  std::map<std::string, int> out;
  std::string next = "/2010-04-01/Accounts/" + a.sid + "/Messages.json?PageSize=1000";
  for (int pages = 0; !next.empty() && pages < 100; ++pages) {
    auto r =
        http_request("GET", FakeServer::twilio().url(next), {"Authorization: Basic " + base64(a.sid + ":" + a.token)});
    REQUIRE(r.status == 200);
    const json::value listing = json::parse(r.body);
    for (const auto& m : listing.at("messages").as_array()) ++out[std::string(m.at("to").as_string())];
    const json::value& more = listing.at("next_page_uri");
    next = more.is_string() ? std::string(more.as_string()) : std::string();
  }
  return out;
}

std::size_t fake_requests(const TwilioAccount& a) {
  return FakeServer::twilio().requests({{"account", a.sid}, {"method", "POST"}}).size();
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return done();
}

// Every reply sent, each received once by the fake.
void check_each_reply_once(const std::string& outbox_states, const TwilioAccount& a, int customers) {
  CHECK(outbox_states == "sent:" + std::to_string(customers));
  const auto got = accepted(a);
  CHECK(got.size() == static_cast<std::size_t>(customers));
  int twice = 0;
  for (const auto& [to, n] : got) {
    INFO(to << " received " << n);
    twice += n > 1;
    CHECK(n == 1);
  }
  WARN("replies: " << customers << " stored, " << got.size() << " recipients at the fake, " << twice
                   << " received twice");
}

}  // namespace

TEST_CASE("replies once: SIGKILL while SMS replies are at Twilio unanswered", "[daemon][faults][once]") {
  TestDatabase db;
  const TwilioAccount a = fresh_account();
  const int rounds = 2 * scale();
  const int per_round = 15 * scale();
  int customers = 0;
  std::string log_all;
  for (int round = 0; round < rounds; ++round) {
    INFO("round " << round);
    auto d = std::make_unique<DaemonProcess>(with_twilio(db.url(), a, "10s"));
    // The first two sends of the round: Twilio creates the message and holds its answer.
    FakeServer::twilio().post(
        "/_fake/fail", json::object{{"match", json::object{{"account", a.sid}}}, {"times", 2}, {"after_ms", 4000}});
    const std::size_t before = fake_requests(a);
    for (int i = 0; i < per_round; ++i, ++customers)
      REQUIRE(inbound_sms(*d, a, "SMin" + std::to_string(round) + "x" + std::to_string(i), phone(customers)) == 200);
    REQUIRE(wait_until([&] { return fake_requests(a) >= before + 2; }, std::chrono::seconds{10}));
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    d->signal(SIGKILL);
    d->wait_exit();
    log_all += d->log();
  }
  // The last daemon finishes the work: the dead ones' rows come back at once, the unanswered
  // ones are looked up at Twilio first.
  DaemonProcess last(with_twilio(db.url(), a, "10s"));
  const auto states = [&] {
    return db.scalar(
        "SELECT string_agg(state || ':' || n, ',') FROM (SELECT state, count(*) AS n FROM outbox GROUP BY state) s");
  };
  CHECK(wait_until([&] { return states() == "sent:" + std::to_string(customers); }, std::chrono::seconds{30}));
  CHECK(db.scalar("SELECT count(*) || '/' || count(DISTINCT external_id) FROM messages WHERE direction = 'in'") ==
        std::to_string(customers) + "/" + std::to_string(customers));
  check_each_reply_once(states(), a, customers);
  const std::string log = last.log();
  CHECK(log.find("resend=avoided") != std::string::npos);
  CHECK(log.find("reason=\"lease expired or the claiming daemon stopped\"") != std::string::npos);
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'out' AND external_id IS NULL") == "0");
}

TEST_CASE("replies once: an answer that never comes is looked up before any resend", "[daemon][faults][once]") {
  TestDatabase db;
  const TwilioAccount a = fresh_account();
  DaemonProcess d(with_twilio(db.url(), a, "1s"));
  // Twilio creates the first message and answers after the daemon has given up waiting.
  FakeServer::twilio().post(
      "/_fake/fail", json::object{{"match", json::object{{"account", a.sid}}}, {"times", 1}, {"after_ms", 2500}});
  REQUIRE(inbound_sms(d, a, "SMlate1", phone(900)) == 200);
  const auto states = [&] {
    return db.scalar(
        "SELECT string_agg(state || ':' || n, ',') FROM (SELECT state, count(*) AS n FROM outbox GROUP BY state) s");
  };
  CHECK(wait_until([&] { return states() == "sent:1"; }, std::chrono::seconds{15}));
  check_each_reply_once(states(), a, 1);
  CHECK(d.log().find("in_doubt=yes") != std::string::npos);
  CHECK(d.log().find("resend=avoided") != std::string::npos);
  CHECK(db.scalar("SELECT attempts FROM outbox") == "2");

  // The same customer writes again: the same reply text, legitimately, a second time. Its first
  // attempt times out and Twilio never created it; the lookup finds only the first reply, whose
  // sid is known, so it cannot be mistaken for this one: sent again.
  FakeServer::twilio().post("/_fake/fail", json::object{{"match", json::object{{"account", a.sid}}},
                                                        {"times", 1},
                                                        {"status", 503},
                                                        {"delay_ms", 2000},
                                                        {"body", json::object{{"code", 20500}, {"message", "x"}}}});
  REQUIRE(inbound_sms(d, a, "SMlate2", phone(900)) == 200);
  CHECK(wait_until([&] { return states() == "sent:2"; }, std::chrono::seconds{15}));
  CHECK(accepted(a)[phone(900)] == 2);
  CHECK(d.log().find("event=outbox_resend ") != std::string::npos);
}

TEST_CASE("replies once: PostgreSQL restarted while sends are in flight", "[daemon][faults][once]") {
  PrivateCluster pg;
  const TwilioAccount a = fresh_account();
  DaemonProcess d(with_twilio(pg.url(), a, "10s"));
  const int customers = 12 * scale();
  FakeServer::twilio().post(
      "/_fake/fail", json::object{{"match", json::object{{"account", a.sid}}}, {"times", 2}, {"after_ms", 2500}});
  const std::size_t before = fake_requests(a);
  for (int i = 0; i < customers; ++i) REQUIRE(inbound_sms(d, a, "SMpg" + std::to_string(i), phone(500 + i)) == 200);
  REQUIRE(wait_until([&] { return fake_requests(a) >= before + 2; }, std::chrono::seconds{10}));
  // Twilio has both messages; their answers come while the database is down.
  pg.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds{3500});
  pg.start();
  const auto states = [&] {
    return pg.scalar(
        "SELECT string_agg(state || ':' || n, ',') FROM (SELECT state, count(*) AS n FROM outbox GROUP BY state) s");
  };
  CHECK(wait_until([&] { return states() == "sent:" + std::to_string(customers); }, std::chrono::seconds{30}));
  CHECK(pg.scalar("SELECT count(*) FROM messages WHERE direction = 'in'") == std::to_string(customers));
  check_each_reply_once(states(), a, customers);
  CHECK(d.log().find("event=outbox_record_retrying") != std::string::npos);
  CHECK(d.log().find("event=outbox_result_recorded") != std::string::npos);
}

namespace {

// One keep-alive connection sending requests one after another, as a platform's HTTP client does.
class KeepAlive {
 public:
  explicit KeepAlive(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
    timeval tv{5, 0};
    if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~KeepAlive() { close(); }
  bool open() const { return fd_ >= 0; }

  // The status of the answer, 0 when none came (the connection closed or broke).
  int post(const std::string& path, const std::string& body, const std::string& token) {
    const std::string request = "POST " + path +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                "Authorization: Bearer " +
                                token + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return 0;
    std::string in;
    std::size_t head_end = std::string::npos;
    std::size_t need = 0;
    char buf[4096];
    while (true) {
      if (head_end == std::string::npos) {
        head_end = in.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string lower = in.substr(0, head_end);
          for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          const auto at = lower.find("content-length:");
          need = head_end + 4 + (at == std::string::npos ? 0 : std::stoul(lower.substr(at + 15)));
          if (lower.find("connection: close") != std::string::npos) closing_ = true;
        }
      }
      if (head_end != std::string::npos && in.size() >= need) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return 0;
      in.append(buf, static_cast<std::size_t>(n));
    }
    if (in.rfind("HTTP/1.1 ", 0) != 0) return 0;
    return std::stoi(in.substr(9, 3));
  }
  bool closing() const { return closing_; }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  bool closing_ = false;
};

}  // namespace

TEST_CASE("replies once: SIGTERM under keep-alive load answers every message it stored", "[daemon][faults][once]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kTestRules;
  o.extra_config = "outbox: { workers: 0 }\n";
  DaemonProcess d(o);

  constexpr int kConnections = 8;
  std::mutex mu;
  std::set<std::string> answered;
  std::atomic<int> sent{0};
  std::atomic<bool> go_on{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < kConnections; ++t)
    threads.emplace_back([&, t] {
      KeepAlive conn(d.port());
      for (int i = 0; conn.open() && go_on; ++i) {
        const std::string id = "ka-" + std::to_string(t) + "-" + std::to_string(i);
        ++sent;
        const int status = conn.post("/api/v1/inbound",
                                     "{\"external_id\":\"" + id + "\",\"from\":{\"address\":\"k" + std::to_string(t) +
                                         "@example.pl\"},\"text\":\"Pytanie " + id + "\"}",
                                     DaemonProcess::kShopToken);
        if (status == 200) {
          std::lock_guard lock(mu);
          answered.insert(id);
        }
        if (status == 0 || conn.closing()) break;
      }
    });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{60 * scale()};
  while (sent < 300 * scale() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  CHECK(sent >= 300 * scale());  // else every connection failed early: see the daemon's log
  d.signal(SIGTERM);
  for (auto& t : threads) t.join();
  go_on = false;
  CHECK(d.wait_exit() == 0);

  REQUIRE(answered.size() >= 200);
  const std::string stored =
      db.scalar("SELECT string_agg(external_id, ',' ORDER BY external_id) FROM messages WHERE direction = 'in'");
  std::set<std::string> stored_ids;
  for (std::size_t at = 0; at < stored.size();) {
    auto comma = stored.find(',', at);
    if (comma == std::string::npos) comma = stored.size();
    stored_ids.insert(stored.substr(at, comma - at));
    at = comma + 1;
  }
  int unanswered = 0;
  for (const auto& id : stored_ids) {
    INFO(id);
    if (!answered.count(id)) ++unanswered;
    CHECK(answered.count(id) == 1);
  }
  for (const auto& id : answered) {
    INFO(id);
    CHECK(stored_ids.count(id) == 1);
  }
  WARN("keep-alive SIGTERM: " << sent.load() << " sent, " << answered.size() << " answered 200, " << stored_ids.size()
                              << " stored, " << unanswered << " stored without an answer");
  CHECK(d.log().find("event=http_response_lost") == std::string::npos);
}
