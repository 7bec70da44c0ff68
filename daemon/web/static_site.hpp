// A built single-page app served from memory: the agent console (/console/) today, the web-chat
// widget's files later. The directory holds index.html and assets/ with content-hashed names
// (console/build.mjs writes both); it is read once at startup, so a half-written build never
// reaches a browser, and a request can only name a file that was listed then (no path from the
// request ever touches the file system).
//
// index.html is answered with `Cache-Control: no-cache` and an ETag (a browser revalidates it and
// so picks up a new build at once); assets with a year's `immutable` caching, since a new build
// gives them new names. A file with a `.gz` sibling is answered gzipped to clients that accept it.
// Every answer carries the site's Content-Security-Policy, `X-Content-Type-Options: nosniff` and
// `Referrer-Policy: no-referrer`.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "channels/http.hpp"
#include "routing/core/result.hpp"

namespace switchboard::daemon {

class StaticSite {
 public:
  // Errors: config "static_site" naming the directory and what is wrong with it (missing,
  // unreadable, no index.html, a file over 16 MiB).
  static Result<StaticSite> load(const std::string& dir, std::string csp);

  HttpResponse index(const HttpRequest& request) const;
  // `name`: the file name under assets/ as the request gave it; 404 when not listed.
  HttpResponse asset(const HttpRequest& request, std::string_view name) const;

  std::size_t assets() const { return assets_.size(); }

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string gzipped;  // empty: none
    std::string etag;
  };
  HttpResponse answer(const HttpRequest& request, const File& file, bool immutable) const;

  std::string csp_;
  File index_;
  std::map<std::string, File, std::less<>> assets_;
};

// The console's policy: its own scripts, styles and connections only (the stream's WebSocket is
// 'self'), never framed.
inline constexpr std::string_view kConsolePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace switchboard::daemon
