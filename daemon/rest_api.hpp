// The REST API for agents and admins (CONTRACT.md): read a conversation and its messages, queue
// an agent's reply; sign in and out. Every refusal is a JSON error with a log line.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "channels/host.hpp"
#include "channels/routes.hpp"
#include "channels/tokens.hpp"
#include "daemon/auth.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

class RestApi {
 public:
  // The response for a refused request, with its log line (App::rejected).
  using Reject = std::function<HttpResponse(const HttpRequest&, std::string_view event, const Error&)>;

  RestApi(storage::Pool& pool, const Clock& clock, Auth& auth, const channels::Intake& intake, Reject reject)
      : pool_(pool), clock_(clock), auth_(auth), intake_(intake), reject_(std::move(reject)) {}

  // POST, DELETE and GET /api/v1/session; GET /api/v1/conversations/{id}, GET and POST
  // /api/v1/conversations/{id}/messages (admins: a config admin token or an admin's session).
  Status add_routes(channels::RouteTable& routes);

 private:
  HttpResponse conversation(const HttpRequest& request, const std::string& id, bool messages);
  HttpResponse agent_reply(const HttpRequest& request, const std::string& id);
  // Auth's answer, logged like every refusal when it is one.
  HttpResponse logged(const HttpRequest& request, HttpResponse response);

  storage::Pool& pool_;
  const Clock& clock_;
  Auth& auth_;
  const channels::Intake& intake_;
  Reject reject_;
};

}  // namespace switchboard::daemon
