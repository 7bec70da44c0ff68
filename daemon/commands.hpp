// Subcommands that live outside cli.cpp; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace switchboard::daemon {

int cmd_explain(const std::vector<std::string>& args);
int cmd_replay(const std::vector<std::string>& args);
int cmd_mailbox(const std::vector<std::string>& args);
int cmd_person(const std::vector<std::string>& args);

// "--name VALUE" / "--name=VALUE" options of a subcommand; flags in `flags` take no value.
// Returns false with `error` set on an unknown option or a missing value.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;
  const std::string* get(const std::string& name) const;
  bool has(const std::string& name) const { return get(name) != nullptr; }
};
bool parse_args(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
                const std::vector<std::string>& flags, ParsedArgs& out, std::string& error);

// "@path" -> the file's content; anything else is returned as is. False when unreadable.
bool read_argument(const std::string& value, std::string& out);

}  // namespace switchboard::daemon
