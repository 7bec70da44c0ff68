// The action kinds of the rules (reply, enqueue, tag, assign, page, close, set_priority,
// set_language, notify): compiling each from one item of 'then'.
// A new kind is one compile function (and node class) plus one entry in kActionKinds; the
// options it takes beside its key ('priority' for enqueue) are listed in its entry.
#include <algorithm>
#include <span>
#include <utility>

#include "routing/core/decision.hpp"
#include "routing/core/message.hpp"
#include "routing/oncall/schedule.hpp"
#include "routing/rules/compile_context.hpp"
#include "routing/rules/template.hpp"
#include "routing/text/html.hpp"

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

// A reply's 'whatsapp_template': fixed name and language, parameters with variables.
struct WhatsAppTemplateSpec {
  std::string name;
  std::string language;
  std::vector<TemplateText> parameters;
};

// A reply renders its template for each message (variables, the customer's language).
class ReplyNode final : public ActionNode {
 public:
  ReplyNode(std::string name, std::shared_ptr<const Template> tmpl, std::optional<Duration> at_most,
            std::optional<WhatsAppTemplateSpec> whatsapp)
      : name_(std::move(name)), template_(std::move(tmpl)), at_most_(at_most), whatsapp_(std::move(whatsapp)) {}
  Action produce(EvalContext& ctx) const override {
    ReplyAction reply;
    reply.template_name = name_;
    if (const auto& language = ctx.language_set()) {
      // A 'set_language' before this reply in the same decision: render as if it were stored.
      CustomerView customer = ctx.input().customer;
      customer.language = *language;
      const EvaluationInput& in = ctx.input();
      reply.text =
          render(*template_, EvaluationInput{in.message, in.conversation, customer, in.now}, ctx.empty_variables());
    } else {
      reply.text = render(*template_, ctx.input(), ctx.empty_variables());
    }
    if (ctx.input().message.channel == Channel::email) reply.html = plain_to_html(reply.text);
    reply.at_most = at_most_;
    if (whatsapp_ && ctx.input().message.channel == Channel::whatsapp) {
      // The approved template has one language: its parameters are said in it ("en_US" -> "en"
      // for next_open), whatever the customer's language.
      const std::string language = whatsapp_->language.substr(0, whatsapp_->language.find('_'));
      WhatsAppTemplate sent{whatsapp_->name, whatsapp_->language, {}};
      for (const TemplateText& parameter : whatsapp_->parameters)
        sent.parameters.push_back(render_text(parameter, ctx.input(), language, ctx.empty_variables()));
      reply.whatsapp_template = std::move(sent);
    }
    return reply;
  }

 private:
  std::string name_;
  std::shared_ptr<const Template> template_;
  std::optional<Duration> at_most_;
  std::optional<WhatsAppTemplateSpec> whatsapp_;
};

// Names of WhatsApp templates: lower-case letters, digits and '_', at most 512 of them.
bool valid_whatsapp_name(std::string_view name) {
  return !name.empty() && name.size() <= 512 &&
         std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// WhatsApp's language codes: "pl", "fil", or with a region "en_US", "prs_AF".
bool valid_whatsapp_language(std::string_view code) {
  const std::size_t bar = code.find('_');
  const std::string_view base = code.substr(0, bar);
  const bool base_ok = (base.size() == 2 || base.size() == 3) &&
                       std::all_of(base.begin(), base.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (!base_ok || bar == std::string_view::npos) return base_ok;
  const std::string_view region = code.substr(bar + 1);
  return region.size() == 2 && std::all_of(region.begin(), region.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// 'whatsapp_template: { name: order_update, language: pl, parameters: ["{{customer.first_name | \"Państwo\"}}"] }'
// Every mistake is reported; nullopt after any.
std::optional<WhatsAppTemplateSpec> compile_whatsapp_template(CompileContext& ctx, const YamlNode& node) {
  static constexpr std::string_view kKeys[] = {"name", "language", "parameters"};
  if (!node.is_mapping()) {
    ctx.error(node, "'whatsapp_template' must be a mapping such as '{ name: order_update, language: pl, parameters: [..] }'");
    return std::nullopt;
  }
  bool ok = ctx.check_keys(node, kKeys);
  WhatsAppTemplateSpec spec;
  if (const YamlNode* name = node.find("name"); name == nullptr) {
    ctx.error(node, "'whatsapp_template' needs 'name': the name of the approved template");
    ok = false;
  } else if (auto text = ctx.text_of(*name, "'name' of 'whatsapp_template' must be a string"); !text) {
    ok = false;
  } else if (!valid_whatsapp_name(*text)) {
    ctx.error(*name, "invalid WhatsApp template name '" + *text +
                         "': use lower-case letters, digits and '_' (at most 512), as WhatsApp Manager names them");
    ok = false;
  } else {
    spec.name = *text;
  }
  if (const YamlNode* language = node.find("language"); language == nullptr) {
    ctx.error(node, "'whatsapp_template' needs 'language': the language of the approved template, such as 'pl'");
    ok = false;
  } else if (auto code = ctx.text_of(*language, "'language' of 'whatsapp_template' must be a language code such as 'pl'");
             !code) {
    ok = false;
  } else if (!valid_whatsapp_language(*code)) {
    std::string hint = " (such as 'pl', 'en' or 'en_US')";
    if (std::string fixed = *code; fixed.find('-') != std::string::npos) {
      std::replace(fixed.begin(), fixed.end(), '-', '_');
      if (valid_whatsapp_language(fixed)) hint = " (WhatsApp writes it '" + fixed + "')";
    }
    ctx.error(*language, "'" + *code + "' is not a WhatsApp language code" + hint);
    ok = false;
  } else {
    spec.language = *code;
  }
  const YamlNode* written = node.find("name");
  const std::string subject = written != nullptr && written->is_scalar() && !written->text.empty()
                                  ? "WhatsApp template '" + written->text + "'"
                                  : std::string("'whatsapp_template'");
  if (const YamlNode* parameters = node.find("parameters")) {
    if (!parameters->is_sequence() ||
        !std::all_of(parameters->items.begin(), parameters->items.end(), [](const YamlNode& p) { return p.is_scalar(); })) {
      ctx.error(*parameters, "'parameters' must be a list of strings");
      return std::nullopt;
    }
    for (std::size_t i = 0; i < parameters->items.size(); ++i) {
      const YamlNode& item = parameters->items[i];
      const std::string what = "parameter " + std::to_string(i + 1) + " of " + subject;
      if (item.text.empty()) {
        ctx.error(item, what + " is empty (WhatsApp rejects empty parameters)");
        ok = false;
      } else if (auto text = compile_template_text(ctx, item, what, item.text)) {
        spec.parameters.push_back(std::move(*text));
      } else {
        ok = false;
      }
    }
  }
  if (!ok) return std::nullopt;
  return spec;
}

// "once per 12h" -> 12h. Enforcing it needs the customer's last auto-reply time, which storage
// supplies later: routing only carries the limit in ReplyAction::at_most.
std::optional<Duration> compile_at_most(CompileContext& ctx, const YamlNode& node) {
  static constexpr std::string_view kUsage = "'at_most' must read 'once per DURATION', such as 'once per 12h'";
  constexpr std::string_view kPrefix = "once per ";
  if (!node.is_scalar() || !node.text.starts_with(kPrefix)) {
    ctx.error(node, std::string(kUsage));
    return std::nullopt;
  }
  const std::string duration = node.text.substr(kPrefix.size());
  auto parsed = parse_duration(duration);
  if (!parsed) {
    ctx.error(node, "invalid duration '" + duration + "' in 'at_most' (use 90s, 30m, 12h, 7d or combinations such as 1h30m)");
    return std::nullopt;
  }
  return parsed;
}

std::unique_ptr<ActionNode> compile_reply(CompileContext& ctx, const YamlNode& action, const YamlEntry& kind) {
  std::optional<Duration> at_most;
  bool ok = true;
  if (const YamlNode* limit = action.find("at_most")) {
    at_most = compile_at_most(ctx, *limit);
    ok = at_most.has_value();
  }
  std::optional<WhatsAppTemplateSpec> whatsapp;
  if (const YamlNode* spec = action.find("whatsapp_template")) {
    whatsapp = compile_whatsapp_template(ctx, *spec);
    ok = ok && whatsapp.has_value();
  }
  auto name = ctx.text_of(kind.value, "'reply' must be a template name");
  if (!name) return nullptr;
  const std::string* text = ctx.use_template(kind.value, *name);
  if (text == nullptr) return nullptr;
  auto compiled = ctx.compiled_template(*name);
  if (!compiled || !ok) return nullptr;  // the template's own errors are already reported
  return std::make_unique<ReplyNode>(*name, std::move(compiled), at_most, std::move(whatsapp));
}

constexpr std::string_view kPriorities[] = {"low", "normal", "high", "urgent"};

// 'priority' of enqueue and 'set_priority': one of kPriorities, with a suggestion on typos.
std::optional<Priority> priority_of(CompileContext& ctx, const YamlNode& node, std::string_view key) {
  if (!node.is_scalar()) {
    ctx.error(node, "'" + std::string(key) + "' must be one of " + quoted_list(kPriorities));
    return std::nullopt;
  }
  if (auto parsed = priority_from_string(node.text)) return parsed;
  ctx.error(node, unknown_name("priority", node.text, kPriorities));
  return std::nullopt;
}

std::unique_ptr<ActionNode> compile_enqueue(CompileContext& ctx, const YamlNode& action, const YamlEntry& kind) {
  bool ok = true;
  EnqueueAction enqueue;
  if (auto queue = ctx.text_of(kind.value, "'enqueue' must be a queue name")) {
    ok = ctx.use_queue(kind.value, *queue);
    enqueue.queue = *queue;
  } else {
    ok = false;
  }
  if (const YamlNode* priority = action.find("priority")) {
    if (auto parsed = priority_of(ctx, *priority, "priority")) {
      enqueue.priority = *parsed;
    } else {
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

std::unique_ptr<ActionNode> compile_assign(CompileContext& ctx, const YamlNode&, const YamlEntry& kind) {
  auto login = ctx.text_of(kind.value, "'assign' must be the login of a person");
  if (!login) return nullptr;
  if (!ctx.use_person(kind.value, *login)) return nullptr;  // undefined, or its own errors reported
  return std::make_unique<FixedAction>(AssignAction{*login});
}

// A page resolves who is on call, and the escalation chain, at the message's time.
class PageNode final : public ActionNode {
 public:
  explicit PageNode(std::shared_ptr<const OncallSchedule> schedule) : schedule_(std::move(schedule)) {}
  Action produce(EvalContext& ctx) const override {
    const Timestamp now = ctx.input().now;
    PageAction page;
    page.schedule = schedule_->name;
    page.person = who_is_on_call(*schedule_, now).login;
    page.ack_within = schedule_->ack_within;
    for (const EscalationStep& step : escalation(*schedule_, now))
      page.steps.push_back(PageStep{std::string(to_string(step.channel)), step.login, step.address, step.after});
    return page;
  }

 private:
  std::shared_ptr<const OncallSchedule> schedule_;
};

std::unique_ptr<ActionNode> compile_page(CompileContext& ctx, const YamlNode&, const YamlEntry& kind) {
  auto name = ctx.text_of(kind.value, "'page' must be the name of an on-call schedule");
  if (!name) return nullptr;
  auto schedule = ctx.use_oncall(kind.value, *name);
  return schedule ? std::make_unique<PageNode>(std::move(schedule)) : nullptr;
}

// 'close: true' only: 'close: false' would read as an action that does nothing.
std::unique_ptr<ActionNode> compile_close(CompileContext& ctx, const YamlNode&, const YamlEntry& kind) {
  const YamlNode& value = kind.value;
  const bool is_true = value.is_scalar() && value.plain && (value.text == "true" || value.text == "True" || value.text == "TRUE");
  if (!is_true) {
    ctx.error(value, "'close' must be true");
    return nullptr;
  }
  return std::make_unique<FixedAction>(CloseAction{});
}

std::unique_ptr<ActionNode> compile_set_priority(CompileContext& ctx, const YamlNode&, const YamlEntry& kind) {
  auto priority = priority_of(ctx, kind.value, "set_priority");
  return priority ? std::make_unique<FixedAction>(SetPriorityAction{*priority}) : nullptr;
}

// Also switches the language of the replies produced after it in the same decision.
class SetLanguageNode final : public ActionNode {
 public:
  explicit SetLanguageNode(std::string language) : language_(std::move(language)) {}
  Action produce(EvalContext& ctx) const override {
    ctx.set_language(language_);
    return SetLanguageAction{language_};
  }

 private:
  std::string language_;
};

std::unique_ptr<ActionNode> compile_set_language(CompileContext& ctx, const YamlNode&, const YamlEntry& kind) {
  auto language = ctx.text_of(kind.value, "'set_language' must be a language code such as 'pl' or 'en'");
  if (!language) return nullptr;
  if (!valid_language(*language)) {
    ctx.error(kind.value, "'" + *language + "' is not a language code such as 'pl' or 'en'");
    return nullptr;
  }
  return std::make_unique<SetLanguageNode>(*language);
}

// A notification renders its template per message, like a reply.
class NotifyNode final : public ActionNode {
 public:
  NotifyNode(std::string url, std::string name, std::shared_ptr<const Template> tmpl)
      : url_(std::move(url)), name_(std::move(name)), template_(std::move(tmpl)) {}
  Action produce(EvalContext& ctx) const override {
    return NotifyAction{url_, name_, render(*template_, ctx.input(), ctx.empty_variables())};
  }

 private:
  std::string url_;
  std::string name_;
  std::shared_ptr<const Template> template_;
};

bool http_or_https(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"})
    if (url.size() > scheme.size() && url.starts_with(scheme)) return true;
  return false;
}

std::unique_ptr<ActionNode> compile_notify(CompileContext& ctx, const YamlNode& action, const YamlEntry& kind) {
  constexpr std::string_view kUsage = "'notify' must be an http:// or https:// URL";
  bool ok = true;
  auto url = ctx.text_of(kind.value, std::string(kUsage));
  if (url && !http_or_https(*url)) {
    ctx.error(kind.value, std::string(kUsage));
    ok = false;
  }
  const YamlNode* tmpl = action.find("template");
  if (tmpl == nullptr) {
    ctx.error(action, "'notify' needs 'template': the template whose text is sent");
    return nullptr;
  }
  auto name = ctx.text_of(*tmpl, "'template' must be a template name");
  if (!url || !name) return nullptr;
  if (ctx.use_template(*tmpl, *name) == nullptr) return nullptr;
  auto compiled = ctx.compiled_template(*name);
  if (!compiled || !ok) return nullptr;
  return std::make_unique<NotifyNode>(*url, *name, std::move(compiled));
}

struct ActionKind {
  std::string_view key;
  std::span<const std::string_view> options;  // keys allowed beside the kind's key
  CompileFn compile;
};

constexpr std::string_view kEnqueueOptions[] = {"priority"};
constexpr std::string_view kReplyOptions[] = {"at_most", "whatsapp_template"};
constexpr std::string_view kNotifyOptions[] = {"template"};

// Every action key of the grammar; the order is the one diagnostics list them in.
constexpr ActionKind kActionKinds[] = {
    {"reply", kReplyOptions, compile_reply},
    {"enqueue", kEnqueueOptions, compile_enqueue},
    {"tag", {}, compile_tag},
    {"assign", {}, compile_assign},
    {"page", {}, compile_page},
    {"close", {}, compile_close},
    {"set_priority", {}, compile_set_priority},
    {"set_language", {}, compile_set_language},
    {"notify", kNotifyOptions, compile_notify},
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
