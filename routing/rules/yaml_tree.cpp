// yaml-cpp events -> YamlNode tree: positions made 1-based, and the problems yaml-cpp accepts
// silently (duplicate keys, stray tokens, alias bombs) turned into diagnostics.
//
// The tree is built from yaml-cpp's event API rather than YAML::LoadAll because Debian's
// yaml-cpp 0.7 loops forever, allocating, on a stray ',' outside a flow collection (",a" or
// "{a: 1}, b"): the parser reports an empty document without consuming the token, and LoadAll
// asks again (jbeder/yaml-cpp#1040, fixed upstream by PR #1319). Driving the parser ourselves
// bounds the loop and turns that case into an error.
#include "routing/rules/yaml_tree.hpp"
#include "routing/text/utf8.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <sstream>

namespace switchboard::routing {

namespace {

// Aliases are copied into the tree: cap the nodes so that nested aliases cannot expand without
// bound, and cap nesting so that the compiler's recursion stays shallow.
constexpr long kMaxNodes = 200'000;
constexpr std::size_t kMaxDepth = 100;
constexpr std::string_view kTooBig = "the rules file is nested too deeply or expands to too many nodes";

// Thrown out of tree building that went past the limits: the tree is then useless.
struct TooBig {
  int line;
  int column;
};


long count_nodes(const YamlNode& node) {
  long n = 1;
  for (const auto& item : node.items) n += count_nodes(item);
  for (const auto& entry : node.entries) n += count_nodes(entry.key) + count_nodes(entry.value);
  return n;
}

Diagnostic problem_at(int line, int column, std::string message) {
  return Diagnostic{Diagnostic::Severity::error, {}, line, column, std::move(message)};
}

// One document as the parser delivered it.
struct ParsedDocument {
  YamlNode root;
  std::size_t position = 0;  // byte offset of its first event
  bool lone_null = false;    // nothing but one empty node
};

class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::vector<Diagnostic>& problems) : problems_(problems) {}

  ParsedDocument take() {
    ParsedDocument out{std::move(root_), position_, events_ == 1 && root_kind_ == YamlNode::Kind::null};
    root_ = YamlNode{};
    events_ = 0;
    return out;
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { add(start(mark), anchor); }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlNode node = start(mark);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      problems_.push_back(problem_at(node.line, node.column, "an alias cannot refer to the node that contains it"));
    } else {
      count_ += it->second.size;
      if (count_ > kMaxNodes) throw TooBig{node.line, node.column};
      const int line = node.line;
      const int column = node.column;
      node = it->second.node;
      node.line = line;  // point at the use; the nodes inside keep their own positions
      node.column = column;
    }
    add(std::move(node), YAML::NullAnchor);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, const std::string& value) override {
    YamlNode node = start(mark);
    node.kind = YamlNode::Kind::scalar;
    node.text = value;
    node.plain = tag == "?";
    if (!is_valid_utf8(value)) problems_.push_back(problem_at(node.line, node.column, "invalid UTF-8"));
    add(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, YamlNode::Kind::sequence, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, YamlNode::Kind::mapping, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    YamlNode node;  // a mapping's keys and values alternate in node.items until it closes
    YAML::anchor_t anchor;
  };
  struct Anchored {
    YamlNode node;
    long size;
  };

  YamlNode start(const YAML::Mark& mark) {
    YamlNode node;
    node.line = mark.line + 1;
    node.column = mark.column + 1;
    if (events_++ == 0) position_ = static_cast<std::size_t>(mark.pos);
    if (++count_ > kMaxNodes) throw TooBig{node.line, node.column};
    return node;
  }

  void open(const YAML::Mark& mark, YamlNode::Kind kind, YAML::anchor_t anchor) {
    YamlNode node = start(mark);
    node.kind = kind;
    if (stack_.size() >= kMaxDepth) throw TooBig{node.line, node.column};
    stack_.push_back(Open{std::move(node), anchor});
  }

  void close() {
    Open top = std::move(stack_.back());
    stack_.pop_back();
    if (top.node.is_mapping()) pair_up(top.node);
    add(std::move(top.node), top.anchor);
  }

  void pair_up(YamlNode& map) {
    std::vector<YamlNode> flat = std::move(map.items);
    map.items.clear();
    std::map<std::string, int, std::less<>> first_line;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
      YamlEntry entry{std::move(flat[i]), std::move(flat[i + 1])};
      if (!entry.key.is_scalar()) {
        problems_.push_back(problem_at(entry.key.line, entry.key.column, "keys must be plain names, not lists, mappings or empty"));
        continue;
      }
      auto [it, inserted] = first_line.emplace(entry.key.text, entry.key.line);
      if (!inserted) {
        problems_.push_back(problem_at(entry.key.line, entry.key.column,
                                       "duplicate key '" + entry.key.text + "' (first defined at line " +
                                           std::to_string(it->second) + ")"));
        continue;
      }
      // yaml-cpp marks an empty value at the next token, often on the next line: the key is
      // where the reader looks.
      if (entry.value.is_null()) {
        entry.value.line = entry.key.line;
        entry.value.column = entry.key.column;
      }
      map.entries.push_back(std::move(entry));
    }
  }

  void add(YamlNode node, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchored{node, count_nodes(node)};
    if (stack_.empty()) {
      root_kind_ = node.kind;
      root_ = std::move(node);
    } else {
      stack_.back().node.items.push_back(std::move(node));
    }
  }

  std::vector<Diagnostic>& problems_;
  std::vector<Open> stack_;
  std::map<YAML::anchor_t, Anchored> anchors_;
  YamlNode root_;
  YamlNode::Kind root_kind_ = YamlNode::Kind::null;
  std::size_t position_ = 0;
  long events_ = 0;
  long count_ = 0;
};

// The character at a byte offset, for "unexpected ','".
std::string character_at(std::string_view text, std::size_t position) {
  if (position >= text.size()) return "end of file";
  const auto byte = static_cast<unsigned char>(text[position]);
  if (byte < 0x20 || byte >= 0x80) return "character";
  return "'" + std::string(1, text[position]) + "'";
}

}  // namespace

const YamlEntry* YamlNode::find_entry(std::string_view key) const {
  for (const auto& entry : entries)
    if (entry.key.text == key) return &entry;
  return nullptr;
}

const YamlNode* YamlNode::find(std::string_view key) const {
  const YamlEntry* entry = find_entry(key);
  return entry != nullptr ? &entry->value : nullptr;
}

YamlDocument parse_yaml(std::string_view text) {
  YamlDocument doc;
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    TreeBuilder builder(doc.problems);
    std::optional<ParsedDocument> first;
    std::optional<ParsedDocument> second;
    if (parser.HandleNextDocument(builder)) first = builder.take();
    if (first && parser.HandleNextDocument(builder)) second = builder.take();
    // An empty document at the same place twice is a token the parser could not place.
    auto stray_at = [&](const ParsedDocument& a, const ParsedDocument& b) -> bool {
      if (!a.lone_null || !b.lone_null || a.position != b.position) return false;
      doc.problems.clear();
      doc.problems.push_back(problem_at(b.root.line, b.root.column, "unexpected " + character_at(text, b.position)));
      return true;
    };
    if (first && second && stray_at(*first, *second)) return doc;
    if (second && second->lone_null && parser.HandleNextDocument(builder)) {
      ParsedDocument third = builder.take();
      if (stray_at(*second, third)) return doc;
    }
    if (second) doc.problems.push_back(problem_at(second->root.line, second->root.column,
                                                  "unexpected second YAML document (a rules file holds one)"));
    doc.parsed = true;
    if (first) {
      doc.root = std::move(first->root);
      doc.empty = doc.root.is_null();
    }
  } catch (const TooBig& at) {
    doc.problems.clear();
    doc.problems.push_back(problem_at(at.line, at.column, std::string(kTooBig)));
  } catch (const YAML::DeepRecursion& e) {
    doc.problems.clear();
    doc.problems.push_back(problem_at(e.mark.line + 1, e.mark.column + 1, std::string(kTooBig)));
  } catch (const YAML::Exception& e) {
    // A syntax error: one diagnostic at yaml-cpp's mark (a null mark is -1: position unknown).
    doc.problems.clear();
    doc.problems.push_back(problem_at(e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return doc;
}

}  // namespace switchboard::routing
