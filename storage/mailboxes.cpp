#include "storage/mailboxes.hpp"

#include <pqxx/pqxx>

#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

constexpr Statement kGet{"sb_mailbox_get", R"sql(
SELECT uidvalidity, last_uid FROM mailbox_positions WHERE mailbox = $1 AND folder = $2)sql"};

constexpr Statement kSave{"sb_mailbox_save", R"sql(
INSERT INTO mailbox_positions (mailbox, folder, uidvalidity, last_uid, updated_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (mailbox, folder) DO UPDATE
   SET last_uid = CASE WHEN mailbox_positions.uidvalidity = excluded.uidvalidity
                       THEN greatest(mailbox_positions.last_uid, excluded.last_uid)
                       ELSE excluded.last_uid END,
       uidvalidity = excluded.uidvalidity,
       updated_at = now())sql"};

constexpr Statement kStatements[] = {kGet, kSave};

template <class T, class Op>
Result<T> run(Pool& pool, const sql::Work& work, Op op) {
  return sql::run_unit<T>(pool, "mailboxes", kStatements, "mailbox_db_retry", work, std::move(op));
}

}  // namespace

Result<std::optional<MailboxPosition>> get_mailbox_position(Pool& pool, const std::string& mailbox,
                                                            const std::string& folder) {
  return run<std::optional<MailboxPosition>>(
      pool, {"cannot read the position of mailbox " + mailbox, "invalid_mailbox"},
      [&](pqxx::connection& conn, bool&) -> Result<std::optional<MailboxPosition>> {
        pqxx::nontransaction tx(conn);
        auto r = tx.exec_prepared(kGet.name, mailbox, folder);
        if (r.empty()) return std::optional<MailboxPosition>{};
        return std::optional<MailboxPosition>(MailboxPosition{static_cast<std::uint32_t>(r[0][0].as<std::int64_t>()),
                                                              static_cast<std::uint32_t>(r[0][1].as<std::int64_t>())});
      });
}

Status save_mailbox_position(Pool& pool, const std::string& mailbox, const std::string& folder,
                             const MailboxPosition& position) {
  return run<Ok>(pool, {"cannot save the position of mailbox " + mailbox, "invalid_mailbox"},
                 [&](pqxx::connection& conn, bool&) -> Result<Ok> {
                   pqxx::nontransaction tx(conn);
                   tx.exec_prepared(kSave.name, mailbox, folder, static_cast<std::int64_t>(position.uidvalidity),
                                    static_cast<std::int64_t>(position.last_uid));
                   return Ok{};
                 });
}

struct MailboxLock::Impl {
  std::string url;
  std::string mailbox;
  std::unique_ptr<pqxx::connection> conn;
  bool held = false;
};

MailboxLock::MailboxLock(std::string database_url, std::string mailbox) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(database_url);
  impl_->mailbox = std::move(mailbox);
}

MailboxLock::~MailboxLock() { release(); }

Result<bool> MailboxLock::try_acquire() {
  if (held()) return true;
  try {
    impl_->conn = std::make_unique<pqxx::connection>(impl_->url);
    pqxx::nontransaction tx(*impl_->conn);
    auto r = tx.exec_params("SELECT pg_try_advisory_lock(hashtextextended('mailbox:' || $1, 0))", impl_->mailbox);
    impl_->held = r[0][0].as<bool>();
    if (!impl_->held) impl_->conn.reset();
    return impl_->held;
  } catch (const std::exception& e) {
    impl_->conn.reset();
    impl_->held = false;
    return make_error(ErrorKind::unavailable, "database_unavailable",
                      "cannot take the lock of mailbox " + impl_->mailbox + ": " + sql::first_line(e.what()));
  }
}

bool MailboxLock::held() {
  if (!impl_->held || !impl_->conn) return false;
  try {
    pqxx::nontransaction(*impl_->conn).exec("SELECT 1");
    return true;
  } catch (const std::exception&) {
    impl_->conn.reset();
    impl_->held = false;
    return false;
  }
}

void MailboxLock::release() {
  if (!impl_->conn) return;
  impl_->conn.reset();  // a session lock ends with its session
  impl_->held = false;
}

}  // namespace switchboard::storage
