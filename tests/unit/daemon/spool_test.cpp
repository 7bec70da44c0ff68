#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/spool.hpp"

using namespace switchboard;
using namespace switchboard::daemon;
namespace fs = std::filesystem;

namespace {

struct ScratchDir {
  ScratchDir() {
    char tmpl[] = "/tmp/sbspool-unit-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~ScratchDir() { fs::remove_all(path); }
  std::string path;
};

SpooledRequest request(const std::string& body) {
  SpooledRequest r;
  r.path = "/webhooks/twilio/sms";
  r.account = "main";
  r.content_type = "application/x-www-form-urlencoded";
  r.request_id = "req-1";
  r.received_at = *parse_rfc3339("2027-03-29T10:00:00Z");
  r.body = body;
  return r;
}

}  // namespace

TEST_CASE("spool: a request comes back byte for byte, in arrival order, and is gone once removed", "[spool]") {
  ScratchDir scratch;
  Spool spool(scratch.path + "/spool", 1 << 20);
  REQUIRE(spool.open().ok());
  struct stat st {};
  REQUIRE(::stat((scratch.path + "/spool").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);  // bodies hold customers' messages

  const std::string body = "Body=Dzie%C5%84+dobry&From=%2B48601234567\n\r\nsecond line";
  auto first = spool.append(request(body));
  auto second = spool.append(request("second"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(spool.count() == 2);
  CHECK(spool.bytes() > body.size());
  auto pending = spool.pending();
  REQUIRE(pending == std::vector<std::string>{*first, *second});

  auto read = spool.read(*first);
  REQUIRE(read.ok());
  CHECK(read->body == body);
  CHECK(read->path == "/webhooks/twilio/sms");
  CHECK(read->account == "main");
  CHECK(read->request_id == "req-1");
  CHECK(read->received_at == *parse_rfc3339("2027-03-29T10:00:00Z"));

  REQUIRE(spool.remove(*first).ok());
  CHECK(spool.count() == 1);
  CHECK(spool.pending() == std::vector<std::string>{*second});
  CHECK(spool.remove(*first).error().code == "spool_entry_missing");
}

TEST_CASE("spool: reopening counts what waits and drops unacknowledged temporary files", "[spool]") {
  ScratchDir scratch;
  const std::string dir = scratch.path + "/spool";
  {
    Spool spool(dir, 1 << 20);
    REQUIRE(spool.open().ok());
    REQUIRE(spool.append(request("one")).ok());
    REQUIRE(spool.append(request("two")).ok());
  }
  std::ofstream(dir + "/00000000000000000001-00000009.req.tmp") << "half written";
  Spool again(dir, 1 << 20);
  REQUIRE(again.open().ok());
  CHECK(again.count() == 2);
  CHECK(!fs::exists(dir + "/00000000000000000001-00000009.req.tmp"));
}

TEST_CASE("spool: the size cap refuses a request instead of filling the disk", "[spool]") {
  ScratchDir scratch;
  Spool spool(scratch.path + "/spool", 600);
  REQUIRE(spool.open().ok());
  REQUIRE(spool.append(request(std::string(200, 'a'))).ok());
  auto full = spool.append(request(std::string(400, 'b')));
  REQUIRE(!full.ok());
  CHECK(full.error().code == "spool_full");
  CHECK(full.error().kind == ErrorKind::unavailable);
  CHECK(spool.count() == 1);
  CHECK(spool.pending().size() == 1);
}

TEST_CASE("spool: a damaged entry is reported and can be moved aside, never silently deleted", "[spool]") {
  ScratchDir scratch;
  const std::string dir = scratch.path + "/spool";
  Spool spool(dir, 1 << 20);
  REQUIRE(spool.open().ok());
  std::ofstream(dir + "/00000000000000000001-00000000.req") << "no header line";
  REQUIRE(spool.open().ok());
  auto read = spool.read("00000000000000000001-00000000.req");
  REQUIRE(!read.ok());
  CHECK(read.error().code == "spool_entry_corrupt");
  REQUIRE(spool.reject("00000000000000000001-00000000.req").ok());
  CHECK(fs::exists(dir + "/rejected/00000000000000000001-00000000.req"));
  CHECK(spool.pending().empty());
  CHECK(spool.count() == 0);
}

TEST_CASE("spool: an unusable directory is a clear error at start", "[spool]") {
  ScratchDir scratch;
  std::ofstream(scratch.path + "/file") << "x";
  Spool spool(scratch.path + "/file/spool", 1 << 20);
  auto opened = spool.open();
  REQUIRE(!opened.ok());
  CHECK(opened.error().code == "spool_unusable");
}
