#include "channels/routes.hpp"

#include <algorithm>

namespace switchboard::channels {

namespace {

// "/a/b" -> {"a", "b"}; "/" -> {}; "/a/" -> {"a", ""}. The path starts with '/'.
std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path == "/") return out;
  std::size_t at = 1;
  for (;;) {
    const auto slash = path.find('/', at);
    out.push_back(path.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return out;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::string_view PathParams::get(std::string_view name) const {
  for (const auto& [key, value] : values_)
    if (key == name) return value;
  return {};
}

Status RouteTable::add(std::string method, std::string_view pattern, RouteHandler handler, std::string owner) {
  const auto invalid = [&](const std::string& why) {
    return make_error(ErrorKind::config, "invalid_route",
                      owner + ": route " + method + " " + std::string(pattern) + ": " + why);
  };
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return invalid("the method must be upper-case letters");
  if (pattern.empty() || pattern.front() != '/') return invalid("the pattern must start with '/'");
  if (!handler) return invalid("no handler");
  Route route{method, std::string(pattern), {}, std::move(handler), owner};
  const auto pieces = split(pattern);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto piece = pieces[i];
    // A trailing '/' is a last, empty literal segment ("/console/"): it matches only itself.
    if (piece.empty()) {
      if (i + 1 < pieces.size()) return invalid("empty segment");
      route.segments.push_back({std::string(), false});
      continue;
    }
    if (piece.front() == '{' || piece.back() == '}') {
      const auto name = piece.size() >= 2 ? piece.substr(1, piece.size() - 2) : std::string_view{};
      if (piece.front() != '{' || piece.back() != '}' || !valid_name(name))
        return invalid("a parameter is {name}, with letters, digits and _");
      for (const auto& s : route.segments)
        if (s.param && s.text == name) return invalid("{" + std::string(name) + "} appears twice");
      route.segments.push_back({std::string(name), true});
    } else {
      if (piece.find_first_of("{}") != std::string_view::npos) return invalid("'{' or '}' inside a segment");
      route.segments.push_back({std::string(piece), false});
    }
  }
  for (const auto& other : routes_) {
    if (other.segments.size() != route.segments.size()) continue;
    bool same_shape = true;
    bool same_names = true;
    for (std::size_t i = 0; i < route.segments.size() && same_shape; ++i) {
      const auto& a = route.segments[i];
      const auto& b = other.segments[i];
      if (a.param != b.param || (!a.param && a.text != b.text)) same_shape = false;
      if (a.param && b.param && a.text != b.text) same_names = false;
    }
    if (!same_shape) continue;
    if (!same_names)
      return make_error(ErrorKind::config, "route_conflict",
                        owner + ": route " + method + " " + route.pattern + " names its parameters differently from " +
                            other.method + " " + other.pattern + " (" + other.owner + ")");
    if (other.method == method)
      return make_error(ErrorKind::config, "route_conflict",
                        owner + ": route " + method + " " + route.pattern + " is taken by " + other.owner);
  }
  routes_.push_back(std::move(route));
  return Ok{};
}

std::vector<const RouteTable::Route*> RouteTable::matching(std::string_view path,
                                                           std::vector<PathParams>* params) const {
  std::vector<std::pair<const Route*, PathParams>> found;
  if (path.empty() || path.front() != '/') return {};
  const auto pieces = split(path);
  for (const auto& route : routes_) {
    if (route.segments.size() != pieces.size()) continue;
    PathParams p;
    bool ok = true;
    for (std::size_t i = 0; i < pieces.size() && ok; ++i) {
      const auto& s = route.segments[i];
      if (s.param) {
        ok = !pieces[i].empty();
        if (ok) p.add(s.text, std::string(pieces[i]));
      } else {
        ok = s.text == pieces[i];
      }
    }
    if (ok) found.emplace_back(&route, std::move(p));
  }
  // The most literal first: at the first place two patterns differ, a literal beats a {name}.
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    for (std::size_t i = 0; i < a.first->segments.size(); ++i)
      if (a.first->segments[i].param != b.first->segments[i].param) return !a.first->segments[i].param;
    return false;
  });
  std::vector<const Route*> out;
  for (auto& [route, p] : found) {
    out.push_back(route);
    if (params) params->push_back(std::move(p));
  }
  return out;
}

HttpResponse RouteTable::dispatch(const HttpRequest& request) const {
  std::vector<PathParams> params;
  const auto routes = matching(request.path, &params);
  if (routes.empty()) return error_response(404, "not_found", "no such resource");
  for (std::size_t i = 0; i < routes.size(); ++i)
    if (routes[i]->method == request.method) return routes[i]->handler(request, params[i]);
  // The matching routes' methods in the order they were added: Allow reads as declared.
  std::vector<std::string> allow;
  for (const auto& route : routes_)
    if (std::find(routes.begin(), routes.end(), &route) != routes.end() &&
        std::find(allow.begin(), allow.end(), route.method) == allow.end())
      allow.push_back(route.method);
  std::string header;
  for (const auto& m : allow) header += (header.empty() ? "" : ", ") + m;
  HttpResponse r = error_response(405, "method_not_allowed", "method not allowed");
  r.set_header("Allow", header);
  return r;
}

std::string RouteTable::owner(std::string_view method, std::string_view path) const {
  for (const auto* route : matching(path, nullptr))
    if (route->method == method) return route->owner;
  return {};
}

std::vector<std::string> RouteTable::describe() const {
  std::vector<std::string> out;
  for (const auto& route : routes_) out.push_back(route.method + " " + route.pattern + " (" + route.owner + ")");
  return out;
}

}  // namespace switchboard::channels
