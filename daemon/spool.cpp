#include "daemon/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchboard::daemon {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kSuffix = ".req";

std::string errno_text() { return std::strerror(errno); }

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A rename is durable only once the directory entry is on disk too.
bool sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool is_request(const fs::path& p) { return p.extension() == kSuffix; }

}  // namespace

Spool::Spool(std::string dir, std::size_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

Status Spool::open() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return make_error(ErrorKind::config, "spool_unusable", "cannot create the spool directory " + dir_ + ": " + ec.message());
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  std::lock_guard lock(mu_);
  count_ = bytes_ = 0;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (!entry.is_regular_file()) continue;
    if (entry.path().extension() == ".tmp") {
      fs::remove(entry.path(), ec);  // never renamed: its request was not acknowledged
      continue;
    }
    if (!is_request(entry.path())) continue;
    ++count_;
    bytes_ += entry.file_size();
  }
  if (ec) return make_error(ErrorKind::config, "spool_unusable", "cannot read the spool directory " + dir_ + ": " + ec.message());
  return Ok{};
}

Result<std::string> Spool::append(const SpooledRequest& request) {
  json::object header;
  header["path"] = request.path;
  header["account"] = request.account;
  header["content_type"] = request.content_type;
  header["request_id"] = request.request_id;
  header["received_at"] = format_rfc3339(request.received_at);
  std::string data = json::serialize(header);
  data += '\n';
  data += request.body;

  std::string name;
  {
    std::lock_guard lock(mu_);
    if (bytes_ + data.size() > max_bytes_)
      return make_error(ErrorKind::unavailable, "spool_full",
                        "the database is unavailable and the spool is full (" + std::to_string(bytes_) + " of " +
                            std::to_string(max_bytes_) + " bytes)");
    char buf[64];
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(request.received_at.time_since_epoch()).count();
    std::snprintf(buf, sizeof buf, "%020lld-%08u", static_cast<long long>(micros), sequence_++);
    name = buf;
    name += kSuffix;
    bytes_ += data.size();  // reserved now so that concurrent appends respect the cap
    ++count_;
  }
  const std::string final_path = dir_ + "/" + name;
  const std::string tmp_path = final_path + ".tmp";
  auto fail = [&](const std::string& what) -> Result<std::string> {
    ::unlink(tmp_path.c_str());
    std::lock_guard lock(mu_);
    bytes_ -= data.size();
    --count_;
    return make_error(ErrorKind::unavailable, "spool_write_failed", what + ": " + errno_text());
  };
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create " + tmp_path);
  if (!write_all(fd, data) || ::fsync(fd) != 0) {
    ::close(fd);
    return fail("cannot write " + tmp_path);
  }
  if (::close(fd) != 0) return fail("cannot close " + tmp_path);
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) return fail("cannot rename " + tmp_path);
  if (!sync_dir(dir_)) {
    // The file is complete; only its directory entry may not survive a power cut. Keep it
    // (replay would find it) but refuse the acknowledgement: the platform keeps its copy too.
    return make_error(ErrorKind::unavailable, "spool_write_failed", "cannot sync the spool directory: " + errno_text());
  }
  return name;
}

std::vector<std::string> Spool::pending() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec))
    if (entry.is_regular_file() && is_request(entry.path())) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

Result<SpooledRequest> Spool::read(const std::string& name) const {
  std::ifstream in(dir_ + "/" + name, std::ios::binary);
  if (!in) return make_error(ErrorKind::not_found, "spool_entry_missing", "no spooled request " + name);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  auto newline = data.find('\n');
  auto corrupt = [&] { return make_error(ErrorKind::invalid, "spool_entry_corrupt", "spooled request " + name + " is damaged"); };
  if (newline == std::string::npos) return corrupt();
  json::error_code ec;
  json::value header = json::parse(std::string_view(data).substr(0, newline), ec);
  if (ec || !header.is_object()) return corrupt();
  const auto& h = header.get_object();
  auto text = [&](std::string_view key) {
    const json::value* v = h.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  SpooledRequest r;
  r.path = text("path");
  r.account = text("account");
  r.content_type = text("content_type");
  r.request_id = text("request_id");
  auto at = parse_rfc3339(text("received_at"));
  if (at) r.received_at = *at;
  r.body = data.substr(newline + 1);
  if (r.path.empty()) return corrupt();
  return r;
}

Status Spool::remove(const std::string& name) {
  const std::string path = dir_ + "/" + name;
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return make_error(ErrorKind::not_found, "spool_entry_missing", "no spooled request " + name);
  if (::unlink(path.c_str()) != 0)
    return make_error(ErrorKind::unavailable, "spool_remove_failed", "cannot remove " + path + ": " + errno_text());
  std::lock_guard lock(mu_);
  bytes_ -= std::min<std::size_t>(bytes_, size);
  if (count_ > 0) --count_;
  return Ok{};
}

Status Spool::reject(const std::string& name) {
  const std::string path = dir_ + "/" + name;
  const std::string rejected_dir = dir_ + "/rejected";
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return make_error(ErrorKind::not_found, "spool_entry_missing", "no spooled request " + name);
  fs::create_directories(rejected_dir, ec);
  fs::rename(path, rejected_dir + "/" + name, ec);
  if (ec) return make_error(ErrorKind::unavailable, "spool_reject_failed", "cannot move " + path + ": " + ec.message());
  std::lock_guard lock(mu_);
  bytes_ -= std::min<std::size_t>(bytes_, size);
  if (count_ > 0) --count_;
  return Ok{};
}

std::size_t Spool::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

std::size_t Spool::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace switchboard::daemon
