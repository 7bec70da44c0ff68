// The daemon's HTTP routes: method + path pattern -> handler. Adapters declare theirs through
// channels/host.hpp; the daemon adds its own (health, metrics, the REST API). A pattern is a
// path of literal segments and {name} segments, with or without a trailing '/' (which must then
// be in the path too); {name} matches one non-empty segment, and a
// literal segment wins over a {name} at the same place. Paths are matched as received (no
// percent-decoding: a handler decodes what it reads).
//
// dispatch() answers:
//   - the handler's response when a route matches the path and the method;
//   - 405 method_not_allowed with Allow (the path's methods, in the order added) when only the
//     path matches;
//   - 404 not_found (JSON) when no pattern matches the path.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/http.hpp"
#include "routing/core/result.hpp"

namespace switchboard::channels {

// The {name} segments of the matched pattern, decoded by nobody (see above).
class PathParams {
 public:
  // The value of {name}; empty when the pattern has no such segment.
  std::string_view get(std::string_view name) const;
  void add(std::string name, std::string value) { values_.emplace_back(std::move(name), std::move(value)); }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

class RouteTable {
 public:
  // Errors: config "invalid_route" (the pattern does not start with '/', has an empty segment or
  // a malformed {name}; the method is not upper-case letters), config "route_conflict" (the same
  // method and an equivalent pattern, or a {name} where another pattern has a differently named
  // one: two routes that could both match a path). `owner` names who added it (an adapter's
  // name, or "daemon"), for owner() and the error messages.
  Status add(std::string method, std::string_view pattern, RouteHandler handler, std::string owner = "daemon");

  HttpResponse dispatch(const HttpRequest& request) const;

  // Who added the route that `method` `path` would reach; empty when none.
  std::string owner(std::string_view method, std::string_view path) const;
  // "METHOD pattern (owner)" per route, in the order added: for --help and logs.
  std::vector<std::string> describe() const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    RouteHandler handler;
    std::string owner;
  };
  // The routes whose pattern matches `path`, the most literal first.
  std::vector<const Route*> matching(std::string_view path, std::vector<PathParams>* params) const;

  std::vector<Route> routes_;
};

}  // namespace switchboard::channels
