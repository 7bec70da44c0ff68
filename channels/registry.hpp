// The explicit adapter registry: filled by channels/builtin.cpp, never by static constructors.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "channels/adapter.hpp"

namespace switchboard::channels {

class Registry {
 public:
  // A duplicate name, or a channel another adapter sends for already, is an error (returned,
  // never silently replaced).
  Status add(std::unique_ptr<Adapter> adapter);
  // An unknown name is an error that lists the known ones.
  Result<Adapter*> find(std::string_view name) const;
  // The adapter that sends the outbox rows of `channel` (Adapter::sends_for). Errors:
  // not_found "channel_not_configured".
  Result<Adapter*> sender(std::string_view channel) const;
  std::vector<std::string> names() const;
  std::vector<Adapter*> all() const;

 private:
  std::map<std::string, std::unique_ptr<Adapter>, std::less<>> adapters_;
  std::map<std::string, Adapter*, std::less<>> senders_;
};

}  // namespace switchboard::channels
