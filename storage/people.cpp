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

constexpr Statement kRevokeExcept{"sb_people_revoke_except", R"sql(
UPDATE sessions SET revoked_at = now()
 WHERE revoked_at IS NULL AND NOT (login = ANY ($1::text[])))sql"};

constexpr Statement kStatements[] = {kSetPassword, kPasswordHash,  kCreateSession,
                                     kFindSession, kRevokeSession, kRevokeExcept};

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

Result<long> revoke_sessions_except(Pool& pool, const std::vector<std::string>& keep_logins) {
  return run<long>(
      pool, {"cannot revoke sessions", "invalid_session"}, [&](pqxx::connection& conn, bool&) -> Result<long> {
        pqxx::nontransaction tx(conn);
        return static_cast<long>(tx.exec_prepared(kRevokeExcept.name, sql::text_array(keep_logins)).affected_rows());
      });
}

}  // namespace switchboard::storage
