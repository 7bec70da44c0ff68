// The console's files as the daemon serves them (daemon/web/static_site.hpp).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/web/static_site.hpp"

using namespace switchboard;
using namespace switchboard::daemon;
namespace fs = std::filesystem;

namespace {

struct Build {
  Build() {
    char tmpl[] = "/tmp/sbsite-unit-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Build() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& body) const {
    fs::create_directories((fs::path(path) / name).parent_path());
    std::ofstream(fs::path(path) / name, std::ios::binary) << body;
  }
  std::string path;
};

HttpRequest get(std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/console/";
  r.headers = std::move(headers);
  return r;
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST_CASE("static site: index uncached, assets immutable, both under the policy", "[daemon][static_site]") {
  Build b;
  b.write("index.html", "<!doctype html><title>x</title>");
  b.write("assets/console-ABC123.js", "console.log(1)");
  b.write("assets/console-ABC123.js.gz", "GZ-BYTES");
  b.write("assets/console-D4.css", "body{}");
  auto site = StaticSite::load(b.path, std::string(kConsolePolicy));
  REQUIRE(site.ok());
  CHECK(site->assets() == 2);  // .gz files are encodings, not assets

  auto index = site->index(get());
  CHECK(index.status == 200);
  CHECK(index.content_type == "text/html; charset=utf-8");
  CHECK(index.body == "<!doctype html><title>x</title>");
  CHECK(header(index, "Cache-Control") == "no-cache");
  CHECK(header(index, "Content-Security-Policy").find("frame-ancestors 'none'") != std::string::npos);
  CHECK(header(index, "Content-Security-Policy").find("script-src 'self';") != std::string::npos);
  CHECK(header(index, "X-Content-Type-Options") == "nosniff");
  CHECK(header(index, "X-Frame-Options") == "DENY");
  const auto etag = header(index, "ETag");
  REQUIRE_FALSE(etag.empty());
  auto again = site->index(get({{"If-None-Match", etag}}));
  CHECK(again.status == 304);
  CHECK(again.body.empty());

  auto js = site->asset(get(), "console-ABC123.js");
  CHECK(js.status == 200);
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(js.body == "console.log(1)");
  CHECK(header(js, "Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(header(js, "Vary") == "Accept-Encoding");
  CHECK(header(js, "Content-Encoding").empty());
  for (const char* accepts : {"gzip", "br, gzip;q=0.8", "deflate, *", "GZIP"}) {
    INFO(accepts);
    auto packed = site->asset(get({{"Accept-Encoding", accepts}}), "console-ABC123.js");
    CHECK(packed.body == "GZ-BYTES");
    CHECK(header(packed, "Content-Encoding") == "gzip");
    CHECK(header(packed, "ETag") != header(js, "ETag"));  // another representation
  }
  for (const char* refuses : {"br", "gzip;q=0", "identity", "gzipx"}) {
    INFO(refuses);
    CHECK(site->asset(get({{"Accept-Encoding", refuses}}), "console-ABC123.js").body == "console.log(1)");
  }
  CHECK(site->asset(get(), "console-D4.css").content_type == "text/css; charset=utf-8");
  // Only names listed at load time: no path from the request reaches the file system.
  for (const char* name : {"../index.html", "console-ABC123.js.gz", "", "..", "%2e%2e", "console-abc123.js"})
    CHECK(site->asset(get(), name).status == 404);
  b.write("assets/later.js", "added after load");
  CHECK(site->asset(get(), "later.js").status == 404);
}

TEST_CASE("static site: a directory that is not a build is refused with its name", "[daemon][static_site]") {
  Build b;
  auto missing = StaticSite::load(b.path + "/nope", "x");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("/nope' is not a directory") != std::string::npos);
  auto empty = StaticSite::load(b.path, "x");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message.find("no readable index.html") != std::string::npos);
}
