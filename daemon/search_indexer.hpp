// Computes the search lexemes of new messages (and, after migration 0016, of the history) off
// the intake path: one thread takes batches from search_queue (storage/search_index.hpp) while
// any wait, then looks again every half second. A message is searchable within about a second
// of its commit.
#pragma once

#include <atomic>
#include <thread>

#include "daemon/event_bus.hpp"
#include "search/stemmer.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

class SearchIndexer {
 public:
  // `stemmer` may be null (words are then indexed folded, without stems).
  SearchIndexer(storage::Pool& pool, search::Stemmer* stemmer) : pool_(pool), stemmer_(stemmer) {}
  ~SearchIndexer() { stop(); }
  SearchIndexer(const SearchIndexer&) = delete;
  SearchIndexer& operator=(const SearchIndexer&) = delete;

  // After the schema is current.
  void start();
  void stop();

 private:
  void run();

  storage::Pool& pool_;
  search::Stemmer* stemmer_;
  Doorbell bell_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace switchboard::daemon
