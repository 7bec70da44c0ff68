// The log line format and the thread's request context (routing/core/log.hpp).
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "routing/core/log.hpp"

using namespace switchboard;

TEST_CASE("log: lines carry the thread's request id unless they name one", "[log]") {
  CHECK(log::format_line(log::Level::info, "stored", {{"id", "7"}}) == "level=info event=stored id=7");
  {
    const log::RequestScope outer("req-1");
    CHECK(log::current_request() == "req-1");
    CHECK(log::format_line(log::Level::warn, "stored", {{"id", "7"}}) == "level=warn event=stored id=7 req=req-1");
    // A field of its own wins: never two req fields.
    CHECK(log::format_line(log::Level::info, "x", {{"req", "other"}}) == "level=info event=x req=other");
    {
      const log::RequestScope inner("imap-support-1-42 \"q\"");
      CHECK(log::format_line(log::Level::info, "x", {}) == "level=info event=x req=\"imap-support-1-42 \\\"q\\\"\"");
    }
    CHECK(log::current_request() == "req-1");
    // Another thread has its own (none here).
    std::string elsewhere = "unset";
    std::thread([&] { elsewhere = std::string(log::current_request()); }).join();
    CHECK(elsewhere.empty());
  }
  CHECK(log::current_request().empty());
  CHECK(log::format_line(log::Level::error, "x", {}) == "level=error event=x");
}
