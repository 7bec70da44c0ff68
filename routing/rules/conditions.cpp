// The condition kinds of the rules (all, any, not, channel, text, first_message, open, time,
// weekday, customer, language, conversation, since_human_reply, account, attachment): how each is
// compiled from YAML, tested against a message and shown by explain. A new kind is one class
// (or one more case of an existing one), one compile function and one entry in kConditionKinds.
#include <re2/re2.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "routing/core/message.hpp"
#include "routing/rules/compile_context.hpp"
#include "routing/text/fold.hpp"

namespace switchboard::routing {

bool ConditionNode::trace(EvalContext& ctx, int depth, std::vector<ConditionTrace>& out) const {
  const bool value = test(ctx);
  out.push_back(ConditionTrace{describe(), value, depth});
  return value;
}

namespace {

using Parts = std::vector<std::unique_ptr<ConditionNode>>;

// all / any / not: one class, since they differ only in how the parts' values combine.
class LogicCondition final : public ConditionNode {
 public:
  enum class Op { all, any, negate };
  LogicCondition(Op op, Parts parts) : op_(op), parts_(std::move(parts)) {}

  bool test(EvalContext& ctx) const override {
    switch (op_) {
      case Op::all: return std::all_of(parts_.begin(), parts_.end(), [&](const auto& p) { return p->test(ctx); });
      case Op::any: return std::any_of(parts_.begin(), parts_.end(), [&](const auto& p) { return p->test(ctx); });
      case Op::negate: return !parts_.front()->test(ctx);
    }
    return false;
  }

  std::string describe() const override {
    switch (op_) {
      case Op::all: return "all";
      case Op::any: return "any";
      case Op::negate: return "not";
    }
    return {};
  }

  bool trace(EvalContext& ctx, int depth, std::vector<ConditionTrace>& out) const override {
    const std::size_t self = out.size();
    out.push_back(ConditionTrace{describe(), false, depth});
    bool all = true;
    bool any = false;
    for (const auto& part : parts_) {
      const bool value = part->trace(ctx, depth + 1, out);  // every part, for a complete trace
      all = all && value;
      any = any || value;
    }
    const bool value = op_ == Op::all ? all : op_ == Op::any ? any : !any;
    out[self].value = value;
    return value;
  }

 private:
  Op op_;
  Parts parts_;
};

class ChannelCondition final : public ConditionNode {
 public:
  ChannelCondition(std::vector<Channel> channels, bool written_as_list)
      : channels_(std::move(channels)), written_as_list_(written_as_list) {}

  bool test(EvalContext& ctx) const override {
    return std::find(channels_.begin(), channels_.end(), ctx.input().message.channel) != channels_.end();
  }

  std::string describe() const override {
    std::string out = written_as_list_ ? "channel [" : "channel ";
    for (std::size_t i = 0; i < channels_.size(); ++i) out += (i > 0 ? ", " : "") + std::string(to_string(channels_[i]));
    return written_as_list_ ? out + "]" : out;
  }

 private:
  std::vector<Channel> channels_;
  bool written_as_list_;
};

// An entry of contains_any: folded words to find in sequence; with `prefix` the last word only
// has to begin the message's word ("awari*").
struct Phrase {
  std::string written;
  std::vector<std::string> words;
  bool prefix = false;

  bool matches_at(const std::vector<std::string>& text, std::size_t start) const {
    if (start + words.size() > text.size()) return false;
    for (std::size_t i = 0; i < words.size(); ++i) {
      const bool last = i + 1 == words.size();
      const std::string& got = text[start + i];
      if ((last && prefix) ? !got.starts_with(words[i]) : got != words[i]) return false;
    }
    return true;
  }
};

// How explain shows an entry: bare when YAML would read it back unquoted, else double-quoted.
std::string show_entry(std::string_view entry) {
  const bool bare = !entry.empty() && entry.find_first_of(" ,[]{}\"'#:\\&!|>%@`") == std::string_view::npos;
  if (bare) return std::string(entry);
  std::string out = "\"";
  for (char c : entry) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class ContainsAnyCondition final : public ConditionNode {
 public:
  explicit ContainsAnyCondition(std::vector<Phrase> phrases) : phrases_(std::move(phrases)) {}

  bool test(EvalContext& ctx) const override {
    const std::vector<std::string>& words = ctx.words();
    for (const Phrase& phrase : phrases_)
      for (std::size_t start = 0; start < words.size(); ++start)
        if (phrase.matches_at(words, start)) return true;
    return false;
  }

  std::string describe() const override {
    std::string out = "text contains_any [";
    for (std::size_t i = 0; i < phrases_.size(); ++i) out += (i > 0 ? ", " : "") + show_entry(phrases_[i].written);
    return out + "]";
  }

 private:
  std::vector<Phrase> phrases_;
};

class MatchesCondition final : public ConditionNode {
 public:
  MatchesCondition(std::unique_ptr<re2::RE2> re, bool on_folded) : re_(std::move(re)), on_folded_(on_folded) {}

  bool test(EvalContext& ctx) const override {
    const std::string& text = on_folded_ ? ctx.folded_text() : ctx.input().message.text;
    return re2::RE2::PartialMatch(text, *re_);
  }

  std::string describe() const override {
    // Single-quoted YAML style has no escapes, so the pattern reads exactly as written.
    std::string out = "text matches '";
    for (char c : re_->pattern()) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + (on_folded_ ? "' fold" : "'");
  }

 private:
  std::unique_ptr<re2::RE2> re_;
  bool on_folded_;
};

class FirstMessageCondition final : public ConditionNode {
 public:
  explicit FirstMessageCondition(bool expected) : expected_(expected) {}
  bool test(EvalContext& ctx) const override { return ctx.input().conversation.is_new == expected_; }
  std::string describe() const override { return expected_ ? "first_message true" : "first_message false"; }

 private:
  bool expected_;
};

// open: CALENDAR, at the evaluation's instant.
class OpenCondition final : public ConditionNode {
 public:
  explicit OpenCondition(std::shared_ptr<const Calendar> calendar) : calendar_(std::move(calendar)) {}
  bool test(EvalContext& ctx) const override { return is_open(*calendar_, ctx.input().now); }
  std::string describe() const override { return "open " + calendar_->name; }

 private:
  std::shared_ptr<const Calendar> calendar_;
};

// time: { between: "22:00-06:00" }: wall-clock time in a zone, whatever the date.
class TimeCondition final : public ConditionNode {
 public:
  TimeCondition(std::vector<Interval> intervals, TimeZone zone, std::string written, bool zone_given)
      : intervals_(std::move(intervals)), zone_(std::move(zone)), written_(std::move(written)), zone_given_(zone_given) {}

  bool test(EvalContext& ctx) const override {
    const auto minute = std::chrono::floor<std::chrono::minutes>(zone_.local_parts(ctx.input().now).time_of_day).count();
    return std::any_of(intervals_.begin(), intervals_.end(), [&](const Interval& i) {
      return (i.start <= minute && minute < i.end) || (i.end > 24 * 60 && minute < i.end - 24 * 60);
    });
  }
  std::string describe() const override {
    return "time between \"" + written_ + "\"" + (zone_given_ ? " " + zone_.name() : std::string());
  }

 private:
  std::vector<Interval> intervals_;
  TimeZone zone_;
  std::string written_;
  bool zone_given_;
};

constexpr std::string_view kWeekdayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};  // c_encoding

// weekday: [sat, sun], in the file's time zone.
class WeekdayCondition final : public ConditionNode {
 public:
  WeekdayCondition(std::vector<unsigned> days, TimeZone zone) : days_(std::move(days)), zone_(std::move(zone)) {}
  bool test(EvalContext& ctx) const override {
    const unsigned today = zone_.local_parts(ctx.input().now).weekday.c_encoding();
    return std::find(days_.begin(), days_.end(), today) != days_.end();
  }
  std::string describe() const override {
    std::string out = "weekday [";
    for (std::size_t i = 0; i < days_.size(); ++i) out += (i > 0 ? ", " : "") + std::string(kWeekdayNames[days_[i]]);
    return out + "]";
  }

 private:
  std::vector<unsigned> days_;
  TimeZone zone_;
};

std::string show_list(const std::vector<std::string>& items) {
  if (items.size() == 1) return items.front();
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i > 0 ? ", " : "") + items[i];
  return out + "]";
}

// The customer's language, else the message's; "" when neither is known.
std::string language_of(const EvaluationInput& input) {
  if (input.customer.language && !input.customer.language->empty()) return *input.customer.language;
  if (input.message.language) return *input.message.language;
  return {};
}

// language: pl (or a list): the customer's language, else the message's.
class LanguageCondition final : public ConditionNode {
 public:
  explicit LanguageCondition(std::vector<std::string> languages) : languages_(std::move(languages)) {}
  bool test(EvalContext& ctx) const override {
    return std::find(languages_.begin(), languages_.end(), language_of(ctx.input())) != languages_.end();
  }
  std::string describe() const override { return "language " + show_list(languages_); }

 private:
  std::vector<std::string> languages_;
};

// customer: { tags_any: [vip], language: pl }: every key given must hold.
class CustomerCondition final : public ConditionNode {
 public:
  CustomerCondition(std::vector<std::string> tags_any, std::vector<std::string> languages)
      : tags_any_(std::move(tags_any)), languages_(std::move(languages)) {}
  bool test(EvalContext& ctx) const override {
    const CustomerView& customer = ctx.input().customer;
    if (!tags_any_.empty() && std::none_of(tags_any_.begin(), tags_any_.end(), [&](const std::string& t) {
          return std::find(customer.tags.begin(), customer.tags.end(), t) != customer.tags.end();
        }))
      return false;
    if (!languages_.empty() && std::find(languages_.begin(), languages_.end(), language_of(ctx.input())) == languages_.end())
      return false;
    return true;
  }
  std::string describe() const override {
    std::string out = "customer";
    if (!tags_any_.empty()) {
      out += " tags_any [";
      for (std::size_t i = 0; i < tags_any_.size(); ++i) out += (i > 0 ? ", " : "") + tags_any_[i];
      out += "]";
    }
    if (!languages_.empty()) out += " language " + show_list(languages_);
    return out;
  }

 private:
  std::vector<std::string> tags_any_;
  std::vector<std::string> languages_;
};

// A duration as the file wrote it ("2h"), for describe().
struct WrittenDuration {
  Duration value{};
  std::string written;
};

// conversation: { state: open, inbound_count_at_least: 3, age_over: 2h, age_under: 30m }: every
// key given must hold. The age is now - opened_at; both bounds are strict (exactly 2h old is
// neither over 2h nor under 2h).
class ConversationCondition final : public ConditionNode {
 public:
  struct Settings {
    std::optional<std::string> state;
    std::optional<long> at_least;
    std::optional<WrittenDuration> age_over;
    std::optional<WrittenDuration> age_under;
  };
  explicit ConversationCondition(Settings settings) : s_(std::move(settings)) {}
  bool test(EvalContext& ctx) const override {
    const ConversationView& c = ctx.input().conversation;
    const Duration age = ctx.input().now - c.opened_at;
    return (!s_.state || c.state == *s_.state) && (!s_.at_least || c.inbound_count >= *s_.at_least) &&
           (!s_.age_over || age > s_.age_over->value) && (!s_.age_under || age < s_.age_under->value);
  }
  std::string describe() const override {
    std::string out = "conversation";
    if (s_.state) out += " state " + *s_.state;
    if (s_.at_least) out += " inbound_count_at_least " + std::to_string(*s_.at_least);
    if (s_.age_over) out += " age_over " + s_.age_over->written;
    if (s_.age_under) out += " age_under " + s_.age_under->written;
    return out;
  }

 private:
  Settings s_;
};

// since_human_reply: { messages_at_least: 3, longer_than: 1h }: every key given must hold.
// messages_at_least counts inbound messages since an agent last replied (this one included);
// longer_than is strict and measures from that reply, or, while no person has replied yet,
// from the conversation's opening (so a conversation nobody answered for 1h qualifies).
class SinceHumanReplyCondition final : public ConditionNode {
 public:
  SinceHumanReplyCondition(std::optional<long> messages_at_least, std::optional<WrittenDuration> longer_than)
      : messages_at_least_(messages_at_least), longer_than_(std::move(longer_than)) {}
  bool test(EvalContext& ctx) const override {
    const ConversationView& c = ctx.input().conversation;
    if (messages_at_least_ && c.inbound_since_human_reply < *messages_at_least_) return false;
    if (longer_than_) {
      const Timestamp since = c.last_human_reply_at.value_or(c.opened_at);
      if (!(ctx.input().now - since > longer_than_->value)) return false;
    }
    return true;
  }
  std::string describe() const override {
    std::string out = "since_human_reply";
    if (messages_at_least_) out += " messages_at_least " + std::to_string(*messages_at_least_);
    if (longer_than_) out += " longer_than " + longer_than_->written + " (from opening while no human reply)";
    return out;
  }

 private:
  std::optional<long> messages_at_least_;
  std::optional<WrittenDuration> longer_than_;
};

class AccountCondition final : public ConditionNode {
 public:
  explicit AccountCondition(std::vector<std::string> accounts) : accounts_(std::move(accounts)) {}
  bool test(EvalContext& ctx) const override {
    return std::find(accounts_.begin(), accounts_.end(), ctx.input().message.account) != accounts_.end();
  }
  std::string describe() const override { return "account " + show_list(accounts_); }

 private:
  std::vector<std::string> accounts_;
};

class AttachmentCondition final : public ConditionNode {
 public:
  explicit AttachmentCondition(bool expected) : expected_(expected) {}
  bool test(EvalContext& ctx) const override { return ctx.input().message.attachments.empty() != expected_; }
  std::string describe() const override { return expected_ ? "attachment true" : "attachment false"; }

 private:
  bool expected_;
};

// `automatic: unsure` holds for mail that may be a robot's (routed, but never answered by a
// rule's reply); `automatic: no` for the rest. Mail that surely is a robot's never reaches rules.
class AutomaticCondition final : public ConditionNode {
 public:
  explicit AutomaticCondition(bool unsure) : unsure_(unsure) {}
  bool test(EvalContext& ctx) const override { return ctx.input().message.automatic_unsure.empty() != unsure_; }
  std::string describe() const override { return unsure_ ? "automatic unsure" : "automatic no"; }

 private:
  bool unsure_;
};

// ---- compiling ----

using CompileFn = std::unique_ptr<ConditionNode> (*)(CompileContext&, const YamlEntry&);

std::unique_ptr<ConditionNode> compile_parts(CompileContext& ctx, const YamlEntry& entry, LogicCondition::Op op) {
  const YamlNode& value = entry.value;
  if (!value.is_sequence() || value.items.empty()) {
    ctx.error(value, "'" + entry.key.text + "' must be a non-empty list of conditions");
    return nullptr;
  }
  Parts parts;
  bool ok = true;
  for (const YamlNode& item : value.items) {
    auto part = compile_condition(ctx, item);
    ok = ok && part != nullptr;
    if (part) parts.push_back(std::move(part));
  }
  return ok ? std::make_unique<LogicCondition>(op, std::move(parts)) : nullptr;
}

std::unique_ptr<ConditionNode> compile_all(CompileContext& ctx, const YamlEntry& entry) {
  return compile_parts(ctx, entry, LogicCondition::Op::all);
}

std::unique_ptr<ConditionNode> compile_any(CompileContext& ctx, const YamlEntry& entry) {
  return compile_parts(ctx, entry, LogicCondition::Op::any);
}

std::unique_ptr<ConditionNode> compile_not(CompileContext& ctx, const YamlEntry& entry) {
  auto part = compile_condition(ctx, entry.value);
  if (!part) return nullptr;
  Parts parts;
  parts.push_back(std::move(part));
  return std::make_unique<LogicCondition>(LogicCondition::Op::negate, std::move(parts));
}

std::unique_ptr<ConditionNode> compile_channel(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kWrongType = "'channel' must be a channel name or a list of channel names";
  const YamlNode& value = entry.value;
  std::vector<const YamlNode*> names;
  if (value.is_scalar()) {
    names.push_back(&value);
  } else if (value.is_sequence() && !value.items.empty()) {
    for (const YamlNode& item : value.items) names.push_back(&item);
  } else {
    ctx.error(value, std::string(kWrongType));
    return nullptr;
  }
  std::vector<std::string_view> known;
  for (Channel c : kAllChannels) known.push_back(to_string(c));
  std::vector<Channel> channels;
  bool ok = true;
  for (const YamlNode* name : names) {
    if (!name->is_scalar()) {
      ctx.error(*name, std::string(kWrongType));
      ok = false;
    } else if (auto channel = channel_from_string(name->text); !channel) {
      ctx.error(*name, unknown_name("channel", name->text, known));
      ok = false;
    } else if (std::find(channels.begin(), channels.end(), *channel) == channels.end()) {
      channels.push_back(*channel);
    }
  }
  return ok ? std::make_unique<ChannelCondition>(std::move(channels), value.is_sequence()) : nullptr;
}

std::optional<Phrase> compile_phrase(CompileContext& ctx, const YamlNode& item) {
  if (!item.is_scalar()) {
    ctx.error(item, "'contains_any' entries must be words or phrases");
    return std::nullopt;
  }
  Phrase phrase;
  phrase.written = item.text;
  std::string_view stem = item.text;
  phrase.prefix = stem.ends_with('*');
  if (phrase.prefix) stem.remove_suffix(1);
  phrase.words = folded_words(stem);
  if (phrase.words.empty()) {
    ctx.error(item, "entry '" + item.text + "' has no letters or digits");
    return std::nullopt;
  }
  // Folding would silently turn a '*' elsewhere into a word break; "awaria *" would be ambiguous.
  if (stem.find('*') != std::string_view::npos || (phrase.prefix && !ends_with_word_char(stem))) {
    ctx.error(item, "misplaced '*' in '" + item.text + "': it may only end the entry, right after a letter or digit");
    return std::nullopt;
  }
  return phrase;
}

std::unique_ptr<ConditionNode> compile_contains_any(CompileContext& ctx, const YamlNode& value) {
  if (!value.is_sequence() || value.items.empty()) {
    ctx.error(value, "'contains_any' must be a non-empty list of words or phrases");
    return nullptr;
  }
  std::vector<Phrase> phrases;
  bool ok = true;
  for (const YamlNode& item : value.items) {
    auto phrase = compile_phrase(ctx, item);
    ok = ok && phrase.has_value();
    if (phrase) phrases.push_back(std::move(*phrase));
  }
  return ok ? std::make_unique<ContainsAnyCondition>(std::move(phrases)) : nullptr;
}

// RE2's \b knows only ASCII word characters, so next to 'ż' it does not do what it seems to.
void warn_ascii_word_boundary(CompileContext& ctx, const YamlNode& at, std::string_view pattern) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(pattern.data());
  const auto length = static_cast<int32_t>(pattern.size());
  for (int32_t i = 0; i + 1 < length; ++i) {
    if (bytes[i] != '\\') continue;
    if (bytes[i + 1] != 'b') {
      ++i;  // skip the escaped character ("\\b" is a backslash and a 'b')
      continue;
    }
    UChar32 neighbour = -1;
    std::string letter;
    if (i + 2 < length && bytes[i + 2] >= 0x80) {
      int32_t next = i + 2;
      U8_NEXT(bytes, next, length, neighbour);
      letter = pattern.substr(static_cast<std::size_t>(i + 2), static_cast<std::size_t>(next - i - 2));
    } else if (i > 0 && bytes[i - 1] >= 0x80) {
      int32_t previous = i;
      U8_PREV(bytes, 0, previous, neighbour);
      letter = pattern.substr(static_cast<std::size_t>(previous), static_cast<std::size_t>(i - previous));
    }
    if (neighbour < 0) continue;
    ctx.warning(at, "'\\b' in RE2 knows only ASCII letters, so it does not treat '" + letter +
                        "' as part of a word (use contains_any to match words)");
    return;
  }
}

// With fold: true the text is lower-case without diacritics: a literal 'Ż' in the pattern can
// never match it. Escapes (\D, \p{Lu}, \x{141}) are skipped; under (?i) ASCII capitals are fine.
void warn_unfolded_letters(CompileContext& ctx, const YamlNode& at, std::string_view pattern) {
  const bool case_insensitive = pattern.find("(?i") != std::string_view::npos;
  const auto* bytes = reinterpret_cast<const uint8_t*>(pattern.data());
  const auto length = static_cast<int32_t>(pattern.size());
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c == '\\') {
      if (i < length) U8_NEXT(bytes, i, length, c);  // the escaped character
      if (i < length && bytes[i] == '{') {
        while (i < length && bytes[i] != '}') ++i;
      }
      continue;
    }
    if (c < 0 || (case_insensitive && c < 0x80)) continue;
    const std::string letter(pattern.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(i - start)));
    const std::string folded = fold(letter);
    if (folded == letter) continue;
    ctx.warning(at, "with 'fold: true' the text is lower-case and without diacritics, so '" + letter +
                        "' in the pattern never matches (write '" + folded + "')");
    return;
  }
}

std::unique_ptr<ConditionNode> compile_matches(CompileContext& ctx, const YamlNode& value, const YamlEntry* fold) {
  bool ok = true;
  bool on_folded = false;
  if (fold != nullptr) {
    auto flag = ctx.bool_of(fold->value, "fold");
    ok = flag.has_value();
    on_folded = flag.value_or(false);
  }
  if (!value.is_scalar() || value.text.empty()) {
    ctx.error(value, "'matches' must be a non-empty regular expression");
    return nullptr;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  auto re = std::make_unique<re2::RE2>(value.text, options);
  if (!re->ok()) {
    ctx.error(value, "invalid regular expression: " + re->error());
    return nullptr;
  }
  warn_ascii_word_boundary(ctx, value, value.text);
  if (on_folded) warn_unfolded_letters(ctx, value, value.text);
  return ok ? std::make_unique<MatchesCondition>(std::move(re), on_folded) : nullptr;
}

std::unique_ptr<ConditionNode> compile_text(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kTextKeys[] = {"contains_any", "matches", "fold"};
  const YamlNode& value = entry.value;
  if (!value.is_mapping()) {
    ctx.error(value, "'text' must be a mapping with 'contains_any' or 'matches'");
    return nullptr;
  }
  bool ok = ctx.check_keys(value, kTextKeys);
  const YamlEntry* contains_any = value.find_entry("contains_any");
  const YamlEntry* matches = value.find_entry("matches");
  const YamlEntry* fold = value.find_entry("fold");
  if (contains_any != nullptr && matches != nullptr) {
    ctx.error(matches->key, "'text' takes 'contains_any' or 'matches', not both (combine them with 'all' or 'any')");
    return nullptr;
  }
  if (contains_any == nullptr && matches == nullptr) {
    if (ok) ctx.error(value, "'text' needs 'contains_any' or 'matches'");
    return nullptr;
  }
  std::unique_ptr<ConditionNode> condition;
  if (contains_any != nullptr) {
    if (fold != nullptr) {
      ctx.error(fold->key, "'fold' applies only to 'matches' ('contains_any' always folds)");
      ok = false;
    }
    condition = compile_contains_any(ctx, contains_any->value);
  } else {
    condition = compile_matches(ctx, matches->value, fold);
  }
  return ok ? std::move(condition) : nullptr;
}

std::unique_ptr<ConditionNode> compile_first_message(CompileContext& ctx, const YamlEntry& entry) {
  auto expected = ctx.bool_of(entry.value, "first_message");
  return expected ? std::make_unique<FirstMessageCondition>(*expected) : nullptr;
}

// A scalar or a non-empty list of scalars; reports `wrong_type` otherwise.
std::optional<std::vector<const YamlNode*>> one_or_list(CompileContext& ctx, const YamlNode& value, std::string_view wrong_type) {
  std::vector<const YamlNode*> out;
  if (value.is_scalar()) {
    out.push_back(&value);
  } else if (value.is_sequence() && !value.items.empty()) {
    for (const YamlNode& item : value.items) {
      if (!item.is_scalar()) {
        ctx.error(item, std::string(wrong_type));
        return std::nullopt;
      }
      out.push_back(&item);
    }
  } else {
    ctx.error(value, std::string(wrong_type));
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::string>> languages_of(CompileContext& ctx, const YamlNode& value) {
  static constexpr std::string_view kWrongType = "'language' must be a language code such as 'pl' or 'en', or a list of them";
  auto nodes = one_or_list(ctx, value, kWrongType);
  if (!nodes) return std::nullopt;
  std::vector<std::string> out;
  bool ok = true;
  for (const YamlNode* node : *nodes) {
    if (!valid_language(node->text)) {
      ctx.error(*node, "'" + node->text + "' is not a language code such as 'pl' or 'en'");
      ok = false;
    }
    out.push_back(node->text);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::unique_ptr<ConditionNode> compile_open(CompileContext& ctx, const YamlEntry& entry) {
  auto name = ctx.text_of(entry.value, "'open' must be a calendar name");
  if (!name) return nullptr;
  auto calendar = ctx.use_calendar(entry.value, *name);
  return calendar ? std::make_unique<OpenCondition>(std::move(calendar)) : nullptr;
}

std::unique_ptr<ConditionNode> compile_time(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kTimeKeys[] = {"between", "timezone"};
  const YamlNode& value = entry.value;
  if (!value.is_mapping()) {
    ctx.error(value, "'time' must be a mapping such as { between: \"22:00-06:00\" }");
    return nullptr;
  }
  bool ok = ctx.check_keys(value, kTimeKeys);
  TimeZone zone = ctx.time_zone();
  const YamlNode* zone_node = value.find("timezone");
  if (zone_node != nullptr) {
    auto found = zone_of(ctx, *zone_node);
    ok = ok && found.has_value();
    if (found) zone = *found;
  }
  const YamlNode* between = value.find("between");
  if (between == nullptr) {
    ctx.error(value, "'time' needs 'between'");
    return nullptr;
  }
  auto text = ctx.text_of(*between, "'between' must be a string such as \"22:00-06:00\"");
  if (!text) return nullptr;
  std::string error;
  auto intervals = parse_intervals(*text, error);
  if (!intervals) {
    ctx.error(*between, error);
    return nullptr;
  }
  return ok ? std::make_unique<TimeCondition>(std::move(*intervals), std::move(zone), *text, zone_node != nullptr) : nullptr;
}

std::unique_ptr<ConditionNode> compile_weekday(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  auto nodes = one_or_list(ctx, entry.value, "'weekday' must be a day such as 'sat' or a list such as [sat, sun]");
  if (!nodes) return nullptr;
  std::vector<unsigned> days;
  bool ok = true;
  for (const YamlNode* node : *nodes) {
    auto it = std::find(std::begin(kWeekdayNames), std::end(kWeekdayNames), node->text);
    if (it == std::end(kWeekdayNames)) {
      ctx.error(*node, unknown_name("day", node->text, kDays));
      ok = false;
      continue;
    }
    const auto day = static_cast<unsigned>(it - std::begin(kWeekdayNames));
    if (std::find(days.begin(), days.end(), day) == days.end()) days.push_back(day);
  }
  return ok ? std::make_unique<WeekdayCondition>(std::move(days), ctx.time_zone()) : nullptr;
}

std::unique_ptr<ConditionNode> compile_language(CompileContext& ctx, const YamlEntry& entry) {
  auto languages = languages_of(ctx, entry.value);
  return languages ? std::make_unique<LanguageCondition>(std::move(*languages)) : nullptr;
}

std::unique_ptr<ConditionNode> compile_customer(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kCustomerKeys[] = {"tags_any", "language"};
  const YamlNode& value = entry.value;
  if (!value.is_mapping() || value.entries.empty()) {
    ctx.error(value, "'customer' must be a mapping with 'tags_any' or 'language'");
    return nullptr;
  }
  bool ok = ctx.check_keys(value, kCustomerKeys);
  std::vector<std::string> tags;
  std::vector<std::string> languages;
  if (const YamlNode* tags_any = value.find("tags_any")) {
    if (auto nodes = one_or_list(ctx, *tags_any, "'tags_any' must be a list of tags")) {
      for (const YamlNode* node : *nodes) tags.push_back(node->text);
    } else {
      ok = false;
    }
  }
  if (const YamlNode* language = value.find("language")) {
    auto parsed = languages_of(ctx, *language);
    ok = ok && parsed.has_value();
    if (parsed) languages = std::move(*parsed);
  }
  return ok ? std::make_unique<CustomerCondition>(std::move(tags), std::move(languages)) : nullptr;
}

std::optional<WrittenDuration> written_duration(CompileContext& ctx, const YamlNode& node, std::string_view key) {
  auto parsed = ctx.duration_of(node, key);
  if (!parsed) return std::nullopt;
  return WrittenDuration{*parsed, node.text};
}

std::unique_ptr<ConditionNode> compile_conversation(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kConversationKeys[] = {"state", "inbound_count_at_least", "age_over", "age_under"};
  static constexpr std::string_view kStates[] = {"open", "pending", "resolved"};
  const YamlNode& value = entry.value;
  if (!value.is_mapping() || value.entries.empty()) {
    ctx.error(value, "'conversation' must be a mapping with " + quoted_list(kConversationKeys));
    return nullptr;
  }
  bool ok = ctx.check_keys(value, kConversationKeys);
  ConversationCondition::Settings settings;
  if (const YamlNode* node = value.find("state")) {
    if (node->is_scalar() && std::find(std::begin(kStates), std::end(kStates), node->text) != std::end(kStates)) {
      settings.state = node->text;
    } else {
      ctx.error(*node, unknown_name("conversation state", node->text, kStates));
      ok = false;
    }
  }
  if (const YamlNode* node = value.find("inbound_count_at_least")) {
    settings.at_least = ctx.count_of(*node, "inbound_count_at_least");
    ok = ok && settings.at_least.has_value();
  }
  if (const YamlNode* node = value.find("age_over")) {
    settings.age_over = written_duration(ctx, *node, "age_over");
    ok = ok && settings.age_over.has_value();
  }
  if (const YamlNode* node = value.find("age_under")) {
    settings.age_under = written_duration(ctx, *node, "age_under");
    ok = ok && settings.age_under.has_value();
  }
  return ok ? std::make_unique<ConversationCondition>(std::move(settings)) : nullptr;
}

std::unique_ptr<ConditionNode> compile_since_human_reply(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kKeys[] = {"messages_at_least", "longer_than"};
  const YamlNode& value = entry.value;
  if (!value.is_mapping() || value.entries.empty()) {
    ctx.error(value, "'since_human_reply' must be a mapping with " + quoted_list(kKeys));
    return nullptr;
  }
  bool ok = ctx.check_keys(value, kKeys);
  std::optional<long> messages_at_least;
  std::optional<WrittenDuration> longer_than;
  if (const YamlNode* node = value.find("messages_at_least")) {
    messages_at_least = ctx.count_of(*node, "messages_at_least");
    ok = ok && messages_at_least.has_value();
  }
  if (const YamlNode* node = value.find("longer_than")) {
    longer_than = written_duration(ctx, *node, "longer_than");
    ok = ok && longer_than.has_value();
  }
  return ok ? std::make_unique<SinceHumanReplyCondition>(messages_at_least, std::move(longer_than)) : nullptr;
}

std::unique_ptr<ConditionNode> compile_account(CompileContext& ctx, const YamlEntry& entry) {
  auto nodes = one_or_list(ctx, entry.value, "'account' must be an account name or a list of them");
  if (!nodes) return nullptr;
  std::vector<std::string> accounts;
  for (const YamlNode* node : *nodes) accounts.push_back(node->text);
  return std::make_unique<AccountCondition>(std::move(accounts));
}

std::unique_ptr<ConditionNode> compile_attachment(CompileContext& ctx, const YamlEntry& entry) {
  auto expected = ctx.bool_of(entry.value, "attachment");
  return expected ? std::make_unique<AttachmentCondition>(*expected) : nullptr;
}

std::unique_ptr<ConditionNode> compile_automatic(CompileContext& ctx, const YamlEntry& entry) {
  const YamlNode& value = entry.value;
  if (value.is_scalar() && (value.text == "unsure" || value.text == "no"))
    return std::make_unique<AutomaticCondition>(value.text == "unsure");
  ctx.error(value, "'automatic' must be 'unsure' or 'no' (mail that is surely automatic is never routed)");
  return nullptr;
}

struct ConditionKind {
  std::string_view key;
  CompileFn compile;
};

// Every condition key of the grammar; the order is the one diagnostics list them in.
constexpr ConditionKind kConditionKinds[] = {
    {"all", compile_all},
    {"any", compile_any},
    {"not", compile_not},
    {"channel", compile_channel},
    {"text", compile_text},
    {"first_message", compile_first_message},
    {"open", compile_open},
    {"time", compile_time},
    {"weekday", compile_weekday},
    {"customer", compile_customer},
    {"language", compile_language},
    {"conversation", compile_conversation},
    {"since_human_reply", compile_since_human_reply},
    {"account", compile_account},
    {"attachment", compile_attachment},
    {"automatic", compile_automatic},
};

const std::vector<std::string_view>& condition_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> out;
    for (const auto& kind : kConditionKinds) out.push_back(kind.key);
    return out;
  }();
  return keys;
}

}  // namespace

std::unique_ptr<ConditionNode> compile_condition(CompileContext& ctx, const YamlNode& node) {
  if (!node.is_mapping()) {
    ctx.error(node, "a condition must be a mapping such as '{ channel: sms }'");
    return nullptr;
  }
  if (node.entries.empty()) {
    ctx.error(node, "empty condition: expected one of " + quoted_list(condition_keys()));
    return nullptr;
  }
  const ConditionKind* chosen = nullptr;
  const YamlEntry* chosen_entry = nullptr;
  bool ok = true;
  for (const YamlEntry& entry : node.entries) {
    auto kind = std::find_if(std::begin(kConditionKinds), std::end(kConditionKinds),
                             [&](const ConditionKind& k) { return k.key == entry.key.text; });
    if (kind == std::end(kConditionKinds)) {
      ctx.unknown_key(entry.key, condition_keys());
      ok = false;
    } else if (chosen != nullptr) {
      ctx.error(entry.key, "a condition has one key, found '" + chosen_entry->key.text + "' and '" +
                               entry.key.text + "' (combine conditions with 'all' or 'any')");
      ok = false;
    } else {
      chosen = &*kind;
      chosen_entry = &entry;
    }
  }
  if (chosen == nullptr) return nullptr;
  auto condition = chosen->compile(ctx, *chosen_entry);
  return ok ? std::move(condition) : nullptr;
}

}  // namespace switchboard::routing
