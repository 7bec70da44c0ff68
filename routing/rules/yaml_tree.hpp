// A parsed YAML document as a plain tree with 1-based positions. Only yaml_tree.cpp sees
// yaml-cpp: the compiler works on this tree, and yaml-cpp stays out of every header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "routing/rules/diagnostic.hpp"

namespace switchboard::routing {

struct YamlEntry;

struct YamlNode {
  enum class Kind { null, scalar, sequence, mapping };
  Kind kind = Kind::null;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string text;    // a scalar's value
  bool plain = false;  // an unquoted, untagged scalar: only those read as booleans and numbers
  std::vector<YamlNode> items;     // a sequence's elements
  std::vector<YamlEntry> entries;  // a mapping's entries in file order, duplicate keys dropped

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_mapping() const { return kind == Kind::mapping; }
  // The value under a scalar key of a mapping, or nullptr.
  const YamlNode* find(std::string_view key) const;
  // The entry of a mapping with that key, or nullptr.
  const YamlEntry* find_entry(std::string_view key) const;
};

struct YamlEntry {
  YamlNode key;    // always a scalar
  YamlNode value;  // a null value carries its key's position (yaml-cpp marks the next token)
};

struct YamlDocument {
  bool parsed = false;  // false after a syntax error (then `problems` holds just that one)
  bool empty = true;    // no document, or an empty one
  YamlNode root;
  std::vector<Diagnostic> problems;  // errors without file names; the caller sets them
};

// Parses a YAML stream that should hold one document. Syntax errors come back as problems, not
// exceptions (only std::bad_alloc passes). Also reports a second document, duplicate keys, keys
// that are not scalars, invalid UTF-8, self-referring aliases and files that nest or expand
// (through aliases) beyond fixed limits.
YamlDocument parse_yaml(std::string_view text);

}  // namespace switchboard::routing
