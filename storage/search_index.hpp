// Keeps message_search up to date (migration 0016): messages wait in search_queue, written in
// their own transaction, and are indexed here in batches, off the intake path. Several daemons
// share the queue (SKIP LOCKED).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/core/result.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

// A message's lexemes (search::document_terms): no spaces or newlines inside one.
using LexemesOf = std::function<std::vector<std::string>(std::string_view text)>;

// Indexes up to `limit` queued messages, newest first, in one transaction: how many were taken
// (0: nothing waits).
Result<int> index_queued(Pool& pool, int limit, const LexemesOf& lexemes_of);

}  // namespace switchboard::storage
