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
  // A duplicate name is an error (returned, never silently replaced).
  Status add(std::unique_ptr<Adapter> adapter);
  // An unknown name is an error that lists the known ones.
  Result<Adapter*> find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::unique_ptr<Adapter>, std::less<>> adapters_;
};

}  // namespace switchboard::channels
