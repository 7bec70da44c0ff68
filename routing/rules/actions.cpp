// The action kinds of rules v1 (reply, enqueue, tag): compiling each from one item of 'then'.
// A new kind is one compile function (and node class) plus one entry in kActionKinds; the
// options it takes beside its key ('priority' for enqueue) are listed in its entry.
#include <algorithm>
#include <span>
#include <utility>

#include "routing/core/decision.hpp"
#include "routing/rules/compile_context.hpp"

namespace switchboard::routing {

namespace {

// Actions of v1 are fixed at compile time; templates with variables will render in produce().
class FixedAction final : public ActionNode {
 public:
  explicit FixedAction(Action action) : action_(std::move(action)) {}
  Action produce(EvalContext&) const override { return action_; }

 private:
  Action action_;
};

using CompileFn = std::unique_ptr<ActionNode> (*)(CompileContext&, const YamlNode& action, const YamlEntry& kind);

std::unique_ptr<ActionNode> compile_reply(CompileContext& ctx, const YamlNode&, const YamlEntry& kind) {
  auto name = ctx.text_of(kind.value, "'reply' must be a template name");
  if (!name) return nullptr;
  const std::string* text = ctx.use_template(kind.value, *name);
  if (text == nullptr) return nullptr;
  return std::make_unique<FixedAction>(ReplyAction{*name, *text});
}

std::unique_ptr<ActionNode> compile_enqueue(CompileContext& ctx, const YamlNode& action, const YamlEntry& kind) {
  static constexpr std::string_view kPriorities[] = {"low", "normal", "high", "urgent"};
  bool ok = true;
  EnqueueAction enqueue;
  if (auto queue = ctx.text_of(kind.value, "'enqueue' must be a queue name")) {
    ok = ctx.use_queue(kind.value, *queue);
    enqueue.queue = *queue;
  } else {
    ok = false;
  }
  if (const YamlNode* priority = action.find("priority")) {
    if (!priority->is_scalar()) {
      ctx.error(*priority, "'priority' must be one of " + quoted_list(kPriorities));
      ok = false;
    } else if (auto parsed = priority_from_string(priority->text)) {
      enqueue.priority = *parsed;
    } else {
      ctx.error(*priority, unknown_name("priority", priority->text, kPriorities));
      ok = false;
    }
  }
  return ok ? std::make_unique<FixedAction>(std::move(enqueue)) : nullptr;
}

// [a-z0-9][a-z0-9_.-]*: tags end up in URLs, metrics labels and the console's filters.
bool valid_tag(std::string_view tag) {
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (tag.empty() || !lower_alnum(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(), [&](char c) { return lower_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

std::unique_ptr<ActionNode> compile_tag(CompileContext& ctx, const YamlNode&, const YamlEntry& kind) {
  auto tag = ctx.text_of(kind.value, "'tag' must be a tag name");
  if (!tag) return nullptr;
  if (!valid_tag(*tag)) {
    ctx.error(kind.value, "invalid tag '" + *tag +
                              "': use lower-case letters, digits, '_', '.' and '-', starting with a letter or digit");
    return nullptr;
  }
  return std::make_unique<FixedAction>(TagAction{*tag});
}

struct ActionKind {
  std::string_view key;
  std::span<const std::string_view> options;  // keys allowed beside the kind's key
  CompileFn compile;
};

constexpr std::string_view kEnqueueOptions[] = {"priority"};

// Every action key of the grammar; the order is the one diagnostics list them in.
constexpr ActionKind kActionKinds[] = {
    {"reply", {}, compile_reply},
    {"enqueue", kEnqueueOptions, compile_enqueue},
    {"tag", {}, compile_tag},
};

const ActionKind* find_kind(std::string_view key) {
  auto it = std::find_if(std::begin(kActionKinds), std::end(kActionKinds), [&](const auto& k) { return k.key == key; });
  return it != std::end(kActionKinds) ? &*it : nullptr;
}

// The kinds whose options include `key` (empty when it is no option at all).
std::vector<std::string_view> kinds_with_option(std::string_view key) {
  std::vector<std::string_view> out;
  for (const auto& kind : kActionKinds)
    if (std::find(kind.options.begin(), kind.options.end(), key) != kind.options.end()) out.push_back(kind.key);
  return out;
}

const std::vector<std::string_view>& kind_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& kind : kActionKinds) out.push_back(kind.key);
    return out;
  }();
  return keys;
}

const std::vector<std::string_view>& all_action_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out = kind_keys();
    for (const auto& kind : kActionKinds)
      for (std::string_view option : kind.options)
        if (std::find(out.begin(), out.end(), option) == out.end()) out.push_back(option);
    return out;
  }();
  return keys;
}

}  // namespace

std::unique_ptr<ActionNode> compile_action(CompileContext& ctx, const YamlNode& node) {
  if (!node.is_mapping()) {
    ctx.error(node, "an action must be a mapping such as '{ enqueue: support }'");
    return nullptr;
  }
  const ActionKind* chosen = nullptr;
  const YamlEntry* chosen_entry = nullptr;
  std::vector<const YamlEntry*> options;
  bool ok = true;
  bool reported_unknown = false;
  for (const YamlEntry& entry : node.entries) {
    if (const ActionKind* kind = find_kind(entry.key.text)) {
      if (chosen != nullptr) {
        ctx.error(entry.key, "'" + chosen_entry->key.text + "' and '" + entry.key.text +
                                 "' are two actions: write them as separate items of 'then'");
        ok = false;
      } else {
        chosen = kind;
        chosen_entry = &entry;
      }
    } else if (!kinds_with_option(entry.key.text).empty()) {
      options.push_back(&entry);
    } else {
      ctx.unknown_key(entry.key, all_action_keys());
      ok = false;
      reported_unknown = true;
    }
  }
  if (chosen == nullptr) {
    if (!reported_unknown) ctx.error(node, "an action needs one of " + quoted_list(kind_keys()));
    return nullptr;
  }
  for (const YamlEntry* option : options) {
    if (std::find(chosen->options.begin(), chosen->options.end(), option->key.text) != chosen->options.end()) continue;
    ctx.error(option->key, "'" + option->key.text + "' applies only to " + quoted_list(kinds_with_option(option->key.text)));
    ok = false;
  }
  auto action = chosen->compile(ctx, node, *chosen_entry);
  return ok ? std::move(action) : nullptr;
}

}  // namespace switchboard::routing
