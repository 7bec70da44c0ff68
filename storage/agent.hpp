// What the agent API reads and changes: the conversation list, one conversation with its
// history, notes, assignment and state, customers (merge, split) and attachments. Reads answer
// the API's JSON directly (built by PostgreSQL, one round trip); every query applies the
// caller's visibility, so a conversation the caller may not see is "not found".
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/core/result.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

// Who asks (routing::RuleSet::may_see as a query): an admin sees all; an agent the
// conversations assigned to them, those in no queue, and those of every queue not in `hidden`
// (the queues that list people, not them).
struct Viewer {
  bool all = false;
  std::string login;
  std::vector<std::string> hidden;

  // The rule of SB_VISIBLE (storage/agent.cpp) for one conversation's queue and assignee.
  bool sees(const std::optional<std::string>& queue, const std::optional<std::string>& assignee) const {
    if (all || (assignee && *assignee == login) || !queue) return true;
    return std::find(hidden.begin(), hidden.end(), *queue) == hidden.end();
  }
};

struct ConversationQuery {
  std::vector<std::string> states{"open", "pending"};
  std::optional<std::string> queue;     // "" = in no queue
  std::optional<std::string> assignee;  // "" = unassigned
  std::optional<std::string> channel;   // the channel the customer last wrote on
  std::optional<std::string> tag;
  bool by_activity = false;  // else waiting: the longest waiting first, then the rest by id
  int limit = 50;
  std::string cursor;  // from a previous page; invalid "invalid_parameter"
};

// {"items":[Conversation...],"next_cursor":...}
Result<std::string> list_conversations(Pool& pool, const Viewer& viewer, const ConversationQuery& query);
// The Conversation with "why" (its newest audit row) and "reachable" (where its customer wrote from).
Result<std::string> conversation_detail(Pool& pool, const Viewer& viewer, const std::string& id);
// {"conversation","messages" (oldest first: the newest `limit` before the cursor),"notes",
//  "system_messages","next_cursor" (older messages)}
Result<std::string> conversation_page(Pool& pool, const Viewer& viewer, const std::string& id, int limit,
                                      const std::string& cursor);
// The Conversation when the viewer may see it (not_found otherwise).
Result<std::string> conversation(Pool& pool, const Viewer& viewer, const std::string& id);

// A Note.
Result<std::string> add_note(Pool& pool, const Viewer& viewer, const std::string& id, const std::string& author,
                             const std::string& text, Timestamp now);

struct ConversationChange {
  std::optional<std::string> state;
  std::optional<std::optional<std::string>> assignee;  // set: null unassigns
  std::optional<std::string> priority;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::optional<std::string>> queue;
};
// The Conversation after the change. conflict "another_active_conversation" when reopening while
// the customer has another open one.
Result<std::string> change_conversation(Pool& pool, const Viewer& viewer, const std::string& id,
                                        const ConversationChange& change, Timestamp now);

// A Customer with identities and the conversations the viewer may see.
Result<std::string> customer_detail(Pool& pool, const Viewer& viewer, const std::string& id);
// Merges `other` into `id` (audited in customer_changes); the survivor's Customer.
Result<std::string> merge_customer(Pool& pool, const Viewer& viewer, const std::string& id, const std::string& other,
                                   const std::string& actor, Timestamp now);
// Moves one identity to a new customer (audited); the new Customer.
Result<std::string> split_customer(Pool& pool, const Viewer& viewer, const std::string& id, const std::string& kind,
                                   const std::string& value, const std::string& actor, Timestamp now);

struct AttachmentBytes {
  std::string bytes;
  std::string mime_type;
  std::string name;
};
Result<AttachmentBytes> attachment(Pool& pool, const Viewer& viewer, const std::string& message_id, int position);

// GET /api/v1/search: messages whose lexemes match `tsquery` (search/terms.hpp builds it; empty:
// none), newest first, paged by `cursor` (a message id handed out as next_cursor); on the first
// page also the customers one of `identities` names or whose name has a word starting with
// `name` (folded). {"items":[{"message","conversation"}],"next_cursor","customers":[...]}.
struct SearchQuery {
  std::string tsquery;
  std::vector<std::string> identities;
  std::string name;
  std::string cursor;
  int limit = 20;
};
Result<std::string> search(Pool& pool, const Viewer& viewer, const SearchQuery& query);

// An event's place in the live stream (migration 0015): the transaction that wrote it and its
// number in that transaction. On the wire one decimal number, xact * 10^9 + seq (the events of
// migration 0014, written before, are (0, id): their ids are unchanged).
struct EventId {
  std::uint64_t xact = 0;
  std::uint32_t seq = 0;  // 1 .. 999,999,999

  auto operator<=>(const EventId&) const = default;
  std::string str() const;
  // Decimal digits as str() writes them (leading zeros allowed); nullopt for anything else.
  static std::optional<EventId> parse(std::string_view digits);
};

struct EventRow {
  EventId id;
  std::string json;  // {"id","type","at","conversation_id",...}
  std::optional<std::string> queue;
  std::optional<std::string> assignee;
  // A change of queue or assignee: the ones before (queue, assignee), so that whoever saw the
  // conversation sees it leave.
  std::optional<std::pair<std::optional<std::string>, std::optional<std::string>>> prior;
};
// Events after `after` whose transactions have all ended, oldest first, at most `limit`: once
// one is returned, no event before it can still appear.
Result<std::vector<EventRow>> events_after(Pool& pool, EventId after, int limit);
struct EventBounds {
  EventId pruned_through;  // events up to this one are gone
  EventId newest;          // the newest event events_after can return (pruned_through: none)
};
Result<EventBounds> event_bounds(Pool& pool);
// Deletes events older than `before`; how many.
Result<long> prune_events(Pool& pool, Timestamp before);

}  // namespace switchboard::storage
