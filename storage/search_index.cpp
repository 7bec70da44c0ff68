#include "storage/search_index.hpp"

#include <pqxx/pqxx>

#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

std::string join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

// Read without a lock: a row lock would give the transaction an xid while it stems, and the live
// stream delivers nothing of a later transaction until every earlier one has ended (migration
// 0015). Two daemons may stem the same message now and then; the store below keeps one result.
constexpr Statement kTake{"sb_search_take",
                          "SELECT q.message_id, m.body, coalesce(eh.subject, '')"
                          "  FROM search_queue q"
                          "  LEFT JOIN messages m ON m.id = q.message_id"
                          "  LEFT JOIN email_headers eh ON eh.message_id = q.message_id"
                          " ORDER BY q.message_id DESC LIMIT $1"};

// $1 the ids, $2 each one's lexemes joined by spaces (text[], one element per id). The queue rows
// still there are taken and their messages' lexemes stored, in one short statement.
constexpr Statement kStore{
    "sb_search_store",
    "WITH t AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS t(id, lexemes)),"
    " taken AS (DELETE FROM search_queue WHERE message_id IN (SELECT id FROM t) RETURNING message_id)"
    "INSERT INTO message_search (message_id, lexemes)"
    "SELECT t.id, coalesce(array_to_tsvector(array_remove(string_to_array(t.lexemes, ' '), '')), ''::tsvector)"
    "  FROM t JOIN taken ON taken.message_id = t.id JOIN messages m ON m.id = t.id"
    "    ON CONFLICT (message_id) DO UPDATE SET lexemes = EXCLUDED.lexemes"};

constexpr Statement kStatements[] = {kTake, kStore};

}  // namespace

Result<int> index_queued(Pool& pool, int limit, const LexemesOf& lexemes_of) {
  return sql::run_unit<int>(pool, "search_index", kStatements, "search_db_retry",
                            {"cannot index messages for search", "invalid_parameter"},
                            [&](pqxx::connection& conn, bool& committing) -> Result<int> {
                              std::vector<std::string> ids;
                              std::vector<std::string> lexemes;
                              {
                                pqxx::nontransaction read(conn);
                                auto r = read.exec_prepared(kTake.name, limit);
                                for (const auto& row : r) {
                                  std::string text = row[1].is_null() ? std::string() : row[1].c_str();
                                  const std::string subject = row[2].c_str();
                                  if (!subject.empty()) text = subject + "\n" + text;
                                  std::string joined;
                                  for (const auto& lexeme : lexemes_of(text))
                                    if (lexeme.find(' ') == std::string::npos)  // never, words have no space
                                      joined += (joined.empty() ? "" : " ") + lexeme;
                                  ids.emplace_back(row[0].c_str());
                                  lexemes.push_back(std::move(joined));
                                }
                              }
                              if (ids.empty()) return 0;
                              pqxx::nontransaction store(conn);
                              committing = true;
                              store.exec_prepared(kStore.name, "{" + join(ids) + "}", sql::text_array(lexemes));
                              return static_cast<int>(ids.size());
                            });
}

}  // namespace switchboard::storage
