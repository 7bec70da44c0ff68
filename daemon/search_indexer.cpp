#include "daemon/search_indexer.hpp"

#include "routing/core/log.hpp"
#include "search/terms.hpp"
#include "storage/search_index.hpp"

namespace switchboard::daemon {

namespace {

constexpr int kBatch = 200;
constexpr auto kIdle = std::chrono::milliseconds{500};
constexpr auto kAfterFailure = std::chrono::seconds{5};

}  // namespace

void SearchIndexer::start() {
  if (started_.exchange(true)) return;
  thread_ = std::thread([this] { run(); });
}

void SearchIndexer::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  bell_.interrupt();
  if (thread_.joinable()) thread_.join();
}

void SearchIndexer::run() {
  const storage::LexemesOf lexemes_of = [this](std::string_view text) {
    return search::document_terms(text, stemmer_);
  };
  std::uint64_t seen = bell_.rung();
  bool failing = false;
  long indexed = 0;
  while (!stopping_) {
    auto done = storage::index_queued(pool_, kBatch, lexemes_of);
    if (!done) {
      if (!failing) log::warn("search_index_failed", {{"reason", done.error().message}});
      failing = true;
      bell_.wait(seen, kAfterFailure);
      continue;
    }
    failing = false;
    indexed += *done;
    if (*done == kBatch) continue;  // more wait
    if (indexed >= 10000) {
      log::info("search_indexed", {{"messages", std::to_string(indexed)}});
      indexed = 0;
    }
    bell_.wait(seen, kIdle);
  }
}

}  // namespace switchboard::daemon
