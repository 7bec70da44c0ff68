// What the parts of the rules compiler share: the diagnostics being collected, the queues and
// templates declared so far (and whether rules use them), and typed readers of YAML values.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "routing/rules/compiled.hpp"
#include "routing/rules/diagnostic.hpp"
#include "routing/rules/yaml_tree.hpp"

namespace switchboard::routing {

class CompileContext {
 public:
  void error(const YamlNode& at, std::string message) { add(Diagnostic::Severity::error, at.line, at.column, std::move(message)); }
  void warning(const YamlNode& at, std::string message) { add(Diagnostic::Severity::warning, at.line, at.column, std::move(message)); }
  void add(Diagnostic::Severity severity, int line, int column, std::string message);
  int error_count() const { return error_count_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

  // "unknown key 'x' (did you mean 'y'?)" at the key.
  void unknown_key(const YamlNode& key, std::span<const std::string_view> allowed);
  // Reports every key of `mapping` not in `allowed`; true when all were allowed.
  bool check_keys(const YamlNode& mapping, std::span<const std::string_view> allowed);

  // A scalar's text; otherwise reports `message_if_not` at the node and returns nullopt.
  std::optional<std::string> text_of(const YamlNode& node, std::string_view message_if_not);
  // A plain true or false (also True/TRUE/False/FALSE; not yes/no/on/off, nor quoted);
  // otherwise reports "'KEY' must be true or false".
  std::optional<bool> bool_of(const YamlNode& node, std::string_view key);

  void declare_queue(const YamlNode& name);
  void declare_template(const YamlNode& name, std::string text);
  // Marks a declared queue used; otherwise reports "undefined queue 'x' (did you mean ...)".
  bool use_queue(const YamlNode& at, const std::string& name);
  // A declared template's text, marked used; otherwise reports and returns nullptr.
  const std::string* use_template(const YamlNode& at, const std::string& name);
  // "queue 'x' is never used", "template 'x' is never used".
  void warn_unused();

  std::vector<std::string> queue_names() const;
  std::map<std::string, std::string> templates() const;

 private:
  struct Declared {
    std::string name;
    int line = 0;
    int column = 0;
    std::string text;
    bool used = false;
  };
  static Declared* find(std::vector<Declared>& declared, std::string_view name);
  static std::vector<std::string_view> names(const std::vector<Declared>& declared);

  std::vector<Diagnostic> diagnostics_;
  int error_count_ = 0;
  std::vector<Declared> queues_;
  std::vector<Declared> templates_;
};

// conditions.cpp: a condition mapping ('when', or a part of all/any/not); nullptr after errors.
std::unique_ptr<ConditionNode> compile_condition(CompileContext& ctx, const YamlNode& node);

// actions.cpp: one item of 'then'; nullptr after errors.
std::unique_ptr<ActionNode> compile_action(CompileContext& ctx, const YamlNode& node);

// "unknown channel 'smss' (did you mean 'sms'?)", or with no near name
// "unknown channel 'fax' (expected 'api', 'webchat', ... or 'sms')".
std::string unknown_name(std::string_view what, std::string_view name, std::span<const std::string_view> known);

// For messages: "'a', 'b' or 'c'".
std::string quoted_list(std::span<const std::string_view> names, std::string_view last_separator = " or ");

}  // namespace switchboard::routing
