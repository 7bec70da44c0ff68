// The REST API for agents and admins (CONTRACT.md): read a conversation and its messages, queue
// an agent's reply. Admin bearer tokens; every refusal is a JSON error with a log line.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "channels/host.hpp"
#include "channels/routes.hpp"
#include "channels/tokens.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

class RestApi {
 public:
  // The response for a refused request, with its log line (App::rejected).
  using Reject = std::function<HttpResponse(const HttpRequest&, std::string_view event, const Error&)>;

  RestApi(storage::Pool& pool, const Clock& clock, const channels::BearerTokens& admin_tokens,
          const channels::Intake& intake, Reject reject)
      : pool_(pool), clock_(clock), admin_tokens_(admin_tokens), intake_(intake), reject_(std::move(reject)) {}

  // GET /api/v1/conversations/{id}, GET and POST /api/v1/conversations/{id}/messages.
  Status add_routes(channels::RouteTable& routes);

 private:
  HttpResponse conversation(const HttpRequest& request, const std::string& id, bool messages);
  HttpResponse agent_reply(const HttpRequest& request, const std::string& id);
  Status require_admin(const HttpRequest& request) const;

  storage::Pool& pool_;
  const Clock& clock_;
  const channels::BearerTokens& admin_tokens_;
  const channels::Intake& intake_;
  Reject reject_;
};

}  // namespace switchboard::daemon
