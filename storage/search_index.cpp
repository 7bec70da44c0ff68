#include "storage/search_index.hpp"

#include <pqxx/pqxx>

#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

constexpr Statement kTake{"sb_search_take",
                          "SELECT q.message_id, m.body, coalesce(eh.subject, '')"
                          "  FROM search_queue q"
                          "  LEFT JOIN messages m ON m.id = q.message_id"
                          "  LEFT JOIN email_headers eh ON eh.message_id = q.message_id"
                          " ORDER BY q.message_id DESC LIMIT $1"
                          "   FOR UPDATE OF q SKIP LOCKED"};

// $1 ids, comma-separated; $2 each one's lexemes, space-separated, one line per id.
constexpr Statement kStore{
    "sb_search_store",
    "WITH t AS (SELECT * FROM unnest(string_to_array($1, ',')::bigint[], string_to_array($2, E'\\n'))"
    "              AS t(id, lexemes)),"
    " stored AS (INSERT INTO message_search (message_id, lexemes)"
    "            SELECT t.id, coalesce(array_to_tsvector(array_remove(string_to_array(t.lexemes, ' '), '')),"
    "                                  ''::tsvector)"
    "              FROM t JOIN messages m ON m.id = t.id"
    "            ON CONFLICT (message_id) DO UPDATE SET lexemes = EXCLUDED.lexemes)"
    "DELETE FROM search_queue WHERE message_id IN (SELECT id FROM t)"};

constexpr Statement kStatements[] = {kTake, kStore};

}  // namespace

Result<int> index_queued(Pool& pool, int limit, const LexemesOf& lexemes_of) {
  return sql::run_unit<int>(pool, "search_index", kStatements, "search_db_retry",
                            {"cannot index messages for search", "invalid_parameter"},
                            [&](pqxx::connection& conn, bool& committing) -> Result<int> {
                              pqxx::work tx(conn, "search_index");
                              auto r = tx.exec_prepared(kTake.name, limit);
                              if (r.empty()) return 0;
                              std::string ids;
                              std::string lines;
                              for (const auto& row : r) {
                                std::string text = row[1].is_null() ? std::string() : row[1].c_str();
                                const std::string subject = row[2].c_str();
                                if (!subject.empty()) text = subject + "\n" + text;
                                std::string joined;
                                for (const auto& lexeme : lexemes_of(text))
                                  joined += (joined.empty() ? "" : " ") + lexeme;
                                if (!ids.empty()) {
                                  ids += ',';
                                  lines += '\n';
                                }
                                ids += row[0].c_str();
                                lines += joined;
                              }
                              tx.exec_prepared(kStore.name, ids, lines);
                              committing = true;
                              tx.commit();
                              return static_cast<int>(r.size());
                            });
}

}  // namespace switchboard::storage
