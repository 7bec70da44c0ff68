#include "daemon/web/static_site.hpp"

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace switchboard::daemon {

namespace {

constexpr std::uintmax_t kMaxFile = 16 * 1024 * 1024;

std::string_view type_of(std::string_view name) {
  const auto dot = name.rfind('.');
  const auto ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// FNV-1a: a validator for the ETag, not a security measure.
std::string etag_of(std::string_view body) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : body) h = (h ^ c) * 1099511628211ull;
  std::ostringstream out;
  out << '"' << std::hex << h << '-' << std::dec << body.size() << '"';
  return out.str();
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Accept-Encoding names gzip (or *) without q=0.
bool accepts_gzip(const HttpRequest& request) {
  const std::string* header = request.header("Accept-Encoding");
  if (!header) return false;
  std::string_view rest = *header;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto semi = item.find(';');
    std::string name = trim(item.substr(0, semi));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "gzip" && name != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string param = trim(item.substr(semi + 1));
    for (auto& c : param) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (param.rfind("q=", 0) != 0) return true;
    const std::string q = param.substr(2);
    return !(q == "0" || q == "0." || q == "0.0" || q == "0.00" || q == "0.000");
  }
  return false;
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorKind::config, "static_site", "cannot read " + path.string() + ": " + ec.message());
  if (size > kMaxFile)
    return make_error(ErrorKind::config, "static_site", path.string() + " is over 16 MiB: not a built asset");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream body;
  body << in.rdbuf();
  if (!in && !in.eof()) return make_error(ErrorKind::config, "static_site", "cannot read " + path.string());
  return body.str();
}

}  // namespace

Result<StaticSite> StaticSite::load(const std::string& dir, std::string csp) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return make_error(ErrorKind::config, "static_site", "'" + dir + "' is not a directory (build it first)");
  StaticSite site;
  site.csp_ = std::move(csp);
  const auto load_one = [](const fs::path& path, File& file) -> Status {
    auto body = read_file(path);
    if (!body) return body.error();
    file.content_type = std::string(type_of(path.filename().string()));
    file.etag = etag_of(*body);
    file.body = std::move(*body);
    fs::path gz = path;
    gz += ".gz";
    std::error_code gz_ec;
    if (fs::is_regular_file(gz, gz_ec)) {
      auto packed = read_file(gz);
      if (!packed) return packed.error();
      file.gzipped = std::move(*packed);
    }
    return Ok{};
  };
  if (auto loaded = load_one(root / "index.html", site.index_); !loaded)
    return make_error(ErrorKind::config, "static_site",
                      "'" + dir + "' has no readable index.html (" + loaded.error().message + ")");
  const fs::path assets = root / "assets";
  if (fs::is_directory(assets, ec)) {
    for (const auto& entry : fs::directory_iterator(assets, ec)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || name.ends_with(".gz")) continue;
      File file;
      if (auto loaded = load_one(entry.path(), file); !loaded) return loaded.error();
      site.assets_.emplace(name, std::move(file));
    }
    if (ec) return make_error(ErrorKind::config, "static_site", "cannot list " + assets.string() + ": " + ec.message());
  }
  return site;
}

HttpResponse StaticSite::answer(const HttpRequest& request, const File& file, bool immutable) const {
  const bool gzip = !file.gzipped.empty() && accepts_gzip(request);
  // Each encoding is its own representation: its own validator.
  const std::string etag = gzip ? file.etag.substr(0, file.etag.size() - 1) + "-gz\"" : file.etag;
  HttpResponse r;
  r.set_header("Content-Security-Policy", csp_);
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  r.set_header("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.set_header("ETag", etag);
  if (!file.gzipped.empty()) r.set_header("Vary", "Accept-Encoding");
  if (const std::string* match = request.header("If-None-Match"); match && match->find(etag) != std::string::npos) {
    r.status = 304;
    return r;
  }
  r.content_type = file.content_type;
  if (gzip) {
    r.set_header("Content-Encoding", "gzip");
    r.body = file.gzipped;
  } else {
    r.body = file.body;
  }
  return r;
}

HttpResponse StaticSite::index(const HttpRequest& request) const {
  auto r = answer(request, index_, false);
  r.set_header("X-Frame-Options", "DENY");
  return r;
}

HttpResponse StaticSite::asset(const HttpRequest& request, std::string_view name) const {
  const auto it = assets_.find(name);
  if (it == assets_.end())
    return error_response(404, "not_found", "no such asset (a page from an older build? reload)");
  return answer(request, it->second, true);
}

}  // namespace switchboard::daemon
