#include "storage/people.hpp"

#include <pqxx/pqxx>

#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

constexpr Statement kSetPassword{"sb_people_set_password", R"sql(
WITH revoked AS (
       UPDATE sessions SET revoked_at = now() WHERE login = $1 AND revoked_at IS NULL)
INSERT INTO person_credentials (login, password_hash, changed_at) VALUES ($1, $2, now())
ON CONFLICT (login) DO UPDATE SET password_hash = excluded.password_hash, changed_at = now())sql"};

constexpr Statement kPasswordHash{"sb_people_password_hash", R"sql(
SELECT password_hash FROM person_credentials WHERE login = $1)sql"};

constexpr Statement kCreateSession{"sb_people_create_session", R"sql(
INSERT INTO sessions (token_sha256, csrf_sha256, login, expires_at) VALUES ($1, $2, $3, $4))sql"};

constexpr Statement kFindSession{"sb_people_find_session", R"sql(
SELECT login, csrf_sha256, (extract(epoch FROM expires_at) * 1000000)::bigint
  FROM sessions
 WHERE token_sha256 = $1 AND revoked_at IS NULL AND expires_at > $2)sql"};

constexpr Statement kRevokeSession{"sb_people_revoke_session", R"sql(
UPDATE sessions SET revoked_at = now() WHERE token_sha256 = $1 AND revoked_at IS NULL)sql"};

constexpr Statement kCreateToken{"sb_people_create_token", R"sql(
INSERT INTO api_tokens (login, name, token_sha256) VALUES ($1, $2, $3)
RETURNING id, login, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')sql"};

// last_used_at is kept to the minute: writing it on every request would make every request of a
// busy script wait for the one before it (one row, one commit each).
constexpr Statement kUseToken{"sb_people_use_token", R"sql(
WITH live AS (
       SELECT id, login, name, created_at, last_used_at
         FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL),
     touched AS (
       UPDATE api_tokens t SET last_used_at = now()
         FROM live
        WHERE t.id = live.id AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'))
SELECT id, login, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(coalesce(last_used_at, now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM live)sql"};

constexpr Statement kListTokens{"sb_people_list_tokens", R"sql(
SELECT id, login, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')
  FROM api_tokens WHERE login = $1 AND revoked_at IS NULL ORDER BY id DESC)sql"};

constexpr Statement kRevokeToken{"sb_people_revoke_token", R"sql(
UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL)sql"};

constexpr Statement kRevokePeople{"sb_people_revoke_people", R"sql(
WITH sessions_ended AS (
       UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL AND login = ANY ($1::text[]) RETURNING 1),
     tokens_ended AS (
       UPDATE api_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND login = ANY ($1::text[]) RETURNING 1)
SELECT (SELECT count(*) FROM sessions_ended) + (SELECT count(*) FROM tokens_ended))sql"};

constexpr Statement kLiveSessions{"sb_people_live_sessions", R"sql(
SELECT token_sha256 FROM sessions
 WHERE token_sha256 = ANY ($1::text[]) AND revoked_at IS NULL AND expires_at > $2::timestamptz)sql"};

constexpr Statement kLiveTokens{"sb_people_live_tokens", R"sql(
SELECT id::text FROM api_tokens WHERE id = ANY ($1::bigint[]) AND revoked_at IS NULL)sql"};

constexpr Statement kStatements[] = {kSetPassword,  kPasswordHash, kCreateSession, kFindSession, kRevokeSession,
                                     kCreateToken,  kUseToken,      kListTokens,  kRevokeToken,
                                     kRevokePeople, kLiveSessions, kLiveTokens};

ApiTokenRow token_row(const pqxx::row& r) {
  return ApiTokenRow{r[0].c_str(), r[1].c_str(), r[2].c_str(), r[3].c_str(), r[4].is_null() ? "" : r[4].c_str()};
}

template <class T, class Op>
Result<T> run(Pool& pool, const sql::Work& work, Op op) {
  return sql::run_unit<T>(pool, "people", kStatements, "people_db_retry", work, std::move(op));
}

}  // namespace

Status set_password_hash(Pool& pool, const std::string& login, const std::string& hash) {
  return run<Ok>(pool, {"cannot set the password of " + login, "invalid_person"},
                 [&](pqxx::connection& conn, bool& committing) -> Result<Ok> {
                   pqxx::work tx(conn, "set_password");
                   tx.exec_prepared(kSetPassword.name, login, hash);
                   committing = true;
                   tx.commit();
                   return Ok{};
                 });
}

Result<std::optional<std::string>> password_hash(Pool& pool, const std::string& login) {
  return run<std::optional<std::string>>(pool, {"cannot read the password of " + login, "invalid_person"},
                                         [&](pqxx::connection& conn, bool&) -> Result<std::optional<std::string>> {
                                           pqxx::nontransaction tx(conn);
                                           auto r = tx.exec_prepared(kPasswordHash.name, login);
                                           if (r.empty()) return std::optional<std::string>{};
                                           return std::optional<std::string>(r[0][0].c_str());
                                         });
}

Status create_session(Pool& pool, const std::string& login, const std::string& token_sha256,
                      const std::string& csrf_sha256, Timestamp expires_at) {
  return run<Ok>(pool, {"cannot create a session for " + login, "invalid_session"},
                 [&](pqxx::connection& conn, bool&) -> Result<Ok> {
                   pqxx::nontransaction tx(conn);
                   tx.exec_prepared(kCreateSession.name, token_sha256, csrf_sha256, login, format_rfc3339(expires_at));
                   return Ok{};
                 });
}

Result<std::optional<SessionRow>> find_session(Pool& pool, const std::string& token_sha256, Timestamp now) {
  return run<std::optional<SessionRow>>(
      pool, {"cannot read a session", "invalid_session"},
      [&](pqxx::connection& conn, bool&) -> Result<std::optional<SessionRow>> {
        pqxx::nontransaction tx(conn);
        auto r = tx.exec_prepared(kFindSession.name, token_sha256, format_rfc3339(now));
        if (r.empty()) return std::optional<SessionRow>{};
        return std::optional<SessionRow>(
            SessionRow{r[0][0].c_str(), r[0][1].c_str(), sql::from_epoch_micros(r[0][2].as<std::int64_t>())});
      });
}

Result<bool> revoke_session(Pool& pool, const std::string& token_sha256) {
  return run<bool>(pool, {"cannot revoke a session", "invalid_session"},
                   [&](pqxx::connection& conn, bool&) -> Result<bool> {
                     pqxx::nontransaction tx(conn);
                     return tx.exec_prepared(kRevokeSession.name, token_sha256).affected_rows() > 0;
                   });
}

Result<ApiTokenRow> create_api_token(Pool& pool, const std::string& login, const std::string& name,
                                     const std::string& token_sha256) {
  return run<ApiTokenRow>(pool, {"cannot create a token for " + login, "invalid_token"},
                          [&](pqxx::connection& conn, bool&) -> Result<ApiTokenRow> {
                            pqxx::nontransaction tx(conn);
                            return token_row(tx.exec_prepared(kCreateToken.name, login, name, token_sha256)[0]);
                          });
}

Result<std::optional<ApiTokenRow>> use_api_token(Pool& pool, const std::string& token_sha256) {
  return run<std::optional<ApiTokenRow>>(pool, {"cannot read a token", "invalid_token"},
                                         [&](pqxx::connection& conn, bool&) -> Result<std::optional<ApiTokenRow>> {
                                           pqxx::nontransaction tx(conn);
                                           auto r = tx.exec_prepared(kUseToken.name, token_sha256);
                                           if (r.empty()) return std::optional<ApiTokenRow>{};
                                           return std::optional<ApiTokenRow>(token_row(r[0]));
                                         });
}

Result<std::vector<ApiTokenRow>> list_api_tokens(Pool& pool, const std::string& login) {
  return run<std::vector<ApiTokenRow>>(pool, {"cannot list the tokens of " + login, "invalid_token"},
                                       [&](pqxx::connection& conn, bool&) -> Result<std::vector<ApiTokenRow>> {
                                         pqxx::nontransaction tx(conn);
                                         std::vector<ApiTokenRow> out;
                                         for (const auto& row : tx.exec_prepared(kListTokens.name, login))
                                           out.push_back(token_row(row));
                                         return out;
                                       });
}

Result<bool> revoke_api_token(Pool& pool, const std::string& id) {
  if (!sql::is_canonical_id(id)) return false;
  return run<bool>(pool, {"cannot revoke token " + id, "invalid_token"},
                   [&](pqxx::connection& conn, bool&) -> Result<bool> {
                     pqxx::nontransaction tx(conn);
                     return tx.exec_prepared(kRevokeToken.name, id).affected_rows() > 0;
                   });
}

Result<long> revoke_credentials(Pool& pool, const std::vector<std::string>& logins) {
  return run<long>(pool, {"cannot revoke sessions and tokens", "invalid_person"},
                   [&](pqxx::connection& conn, bool& committing) -> Result<long> {
                     pqxx::work tx(conn, "revoke_credentials");
                     auto r = tx.exec_prepared(kRevokePeople.name, sql::text_array(logins));
                     committing = true;
                     tx.commit();
                     return r[0][0].as<long>();
                   });
}

Result<LiveCredentials> live_credentials(Pool& pool, const LiveCredentials& asked, Timestamp now) {
  return run<LiveCredentials>(pool, {"cannot check sessions and tokens", "invalid_person"},
                              [&](pqxx::connection& conn, bool&) -> Result<LiveCredentials> {
                                pqxx::nontransaction tx(conn);
                                LiveCredentials live;
                                if (!asked.sessions.empty())
                                  for (const auto& row : tx.exec_prepared(kLiveSessions.name, sql::text_array(asked.sessions),
                                                                          format_rfc3339(now)))
                                    live.sessions.emplace_back(row[0].c_str());
                                if (!asked.tokens.empty())
                                  for (const auto& row : tx.exec_prepared(kLiveTokens.name, sql::text_array(asked.tokens)))
                                    live.tokens.emplace_back(row[0].c_str());
                                return live;
                              });
}

}  // namespace switchboard::storage
