// The agent API (/api/v1, described by daemon/api/openapi.yaml and served at
// /api/v1/openapi.yaml): sign in and out, the conversation list, one conversation with its
// history, replies with their channel's limits, notes, assignment and state, customers,
// attachments, people and tokens, and the live stream. Every endpoint checks the role and the
// visibility rule; every refusal is a JSON error with a log line naming the request id.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "channels/adapter.hpp"
#include "channels/host.hpp"
#include "channels/routes.hpp"
#include "daemon/api/stream.hpp"
#include "daemon/auth.hpp"
#include "routing/core/time.hpp"
#include "routing/rules/ruleset.hpp"
#include "search/stemmer.hpp"
#include "storage/agent.hpp"
#include "storage/outbox.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

// The OpenAPI 3.1 description (daemon/api/openapi.yaml, embedded at build time).
std::string_view openapi_yaml();

class RestApi {
 public:
  // The response for a refused request, with its log line (App::rejected).
  using Reject = std::function<HttpResponse(const HttpRequest&, std::string_view event, const Error&)>;
  using Rules = std::function<std::shared_ptr<const routing::RuleSet>()>;
  // The adapter that sends on a channel, nullptr when none is configured.
  using SenderOf = std::function<const channels::Adapter*(std::string_view channel)>;

  RestApi(storage::Pool& pool, const Clock& clock, Auth& auth, const channels::Intake& intake, Reject reject,
          Rules rules, SenderOf sender_of, StreamHub& stream)
      : pool_(pool),
        clock_(clock),
        auth_(auth),
        intake_(intake),
        reject_(std::move(reject)),
        rules_(std::move(rules)),
        sender_of_(std::move(sender_of)),
        stream_(stream) {}

  Status add_routes(channels::RouteTable& routes);
  // The origin browsers show for the daemon (public_url's scheme, host and port): the stream takes
  // a session cookie from pages of this origin, or of the request's own Host.
  void set_public_origin(std::string origin) { public_origin_ = std::move(origin); }
  // Polish stems for search queries (null: words only); the daemon owns it.
  void set_stemmer(search::Stemmer* stemmer) { stemmer_ = stemmer; }
  // Phone numbers typed into search are read in this region (config default_region).
  void set_default_region(std::string region) { default_region_ = std::move(region); }

  // The visibility of a person under the active rules; nullopt when they are not in the file.
  std::optional<storage::Viewer> viewer_of(const std::string& login) const;

 private:
  HttpResponse list_conversations(const HttpRequest& request);
  HttpResponse search(const HttpRequest& request);
  HttpResponse templates(const HttpRequest& request);
  HttpResponse conversation(const HttpRequest& request, const std::string& id);
  HttpResponse messages(const HttpRequest& request, const std::string& id);
  HttpResponse reply(const HttpRequest& request, const std::string& id, bool preview);
  // A template of the rules file rendered for the conversation's customer, on the reply's channel.
  // `conversation_json`: the Conversation as storage::conversation() reads it.
  Result<std::string> render_template(const std::string& conversation_json, const std::string& id,
                                      const std::string& name, const storage::ReplyRoute& route, Timestamp now);
  HttpResponse add_note(const HttpRequest& request, const std::string& id);
  HttpResponse change(const HttpRequest& request, const std::string& id);
  HttpResponse customer(const HttpRequest& request, const std::string& id);
  HttpResponse merge(const HttpRequest& request, const std::string& id);
  HttpResponse split(const HttpRequest& request, const std::string& id);
  HttpResponse attachment(const HttpRequest& request, const std::string& message_id, const std::string& index);
  HttpResponse queues(const HttpRequest& request);
  HttpResponse people(const HttpRequest& request);
  HttpResponse set_password(const HttpRequest& request, const std::string& login);
  HttpResponse stream(const HttpRequest& request);

  // The caller and what they may see; an error for anyone else.
  Result<std::pair<Caller, storage::Viewer>> viewer(const HttpRequest& request);
  // Auth's answer, logged like every refusal when it is one.
  HttpResponse logged(const HttpRequest& request, HttpResponse response);
  HttpResponse refuse(const HttpRequest& request, const Error& error) {
    return reject_(request, "api_rejected", error);
  }

  storage::Pool& pool_;
  const Clock& clock_;
  Auth& auth_;
  const channels::Intake& intake_;
  Reject reject_;
  Rules rules_;
  SenderOf sender_of_;
  StreamHub& stream_;
  std::string public_origin_;
  search::Stemmer* stemmer_ = nullptr;
  std::string default_region_ = "PL";
};

}  // namespace switchboard::daemon
