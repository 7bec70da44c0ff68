-- 0014_agent_events (issue 14): what the agent API lists by, internal notes, audited customer
-- changes, and the events of the live stream (GET /api/v1/stream).

-- Since when the customer waits for a person: the first inbound message after the last reply a
-- person wrote (auto-replies do not count). NULL when nobody waits. The list's default order.
ALTER TABLE conversations
  ADD COLUMN waiting_since timestamptz,
  -- The channel the customer last wrote on (the list's channel filter).
  ADD COLUMN last_channel text;
UPDATE conversations c
   SET waiting_since = (SELECT min(m.created_at) FROM messages m
                         WHERE m.conversation_id = c.id AND m.direction = 'in'
                           AND (c.last_human_reply_at IS NULL OR m.created_at > c.last_human_reply_at)),
       last_channel = (SELECT m.channel FROM messages m
                        WHERE m.conversation_id = c.id AND m.direction = 'in'
                        ORDER BY m.created_at DESC, m.id DESC LIMIT 1)
 WHERE EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id);
UPDATE conversations SET waiting_since = NULL WHERE state = 'resolved';
-- The inbox in its two orders; resolved conversations are listed only on request.
CREATE INDEX conversations_waiting ON conversations (waiting_since, id) WHERE state IN ('open', 'pending');
CREATE INDEX conversations_activity ON conversations (last_message_at DESC NULLS LAST, id DESC);

-- "Why is this conversation here": its newest audit row.
CREATE INDEX audit_by_conversation ON audit (conversation_id, id);

-- Times on the wire: RFC 3339 in UTC with microseconds (NULL stays NULL).
CREATE FUNCTION switchboard_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- Internal notes: agents' words about a conversation, never sent to the customer.
CREATE TABLE notes (
  id              bigserial PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES conversations (id),
  author          text NOT NULL,
  body            text NOT NULL CHECK (body <> ''),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_by_conversation ON notes (conversation_id, created_at);

-- Merges and splits of customers by people (the pipeline's own merges are in audit).
CREATE TABLE customer_changes (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  action      text NOT NULL CHECK (action IN ('merge', 'split')),
  customer_id bigint NOT NULL REFERENCES customers (id),
  other_id    bigint NOT NULL REFERENCES customers (id),
  detail      jsonb NOT NULL DEFAULT '{}'
);

-- The live stream's events, written by the deferred triggers below in the transaction of the
-- change itself, so an event exists exactly when its change committed.
--
-- The gap problem: a bigserial id is taken when the row is inserted, not when its transaction
-- commits, so a reader could see id 11 committed while 10 is still in flight, move its cursor
-- to 11 and never see 10. Here every event is inserted at commit time (the triggers are
-- DEFERRED: they run when COMMIT begins) under one transaction-level advisory lock that is
-- released only after the commit became visible. Events therefore commit in id order: once a
-- reader sees id N, every id below N that will ever exist is already visible. The lock covers
-- only the last moment of a transaction that changed something a stream shows.
CREATE TABLE events (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT clock_timestamp(),
  type            text NOT NULL,
  conversation_id bigint,
  -- Who may see it: the conversation's queue and assignee when the event committed, and for a
  -- change of either, the ones before (whoever saw the conversation sees it leave).
  queue           text,
  assignee        text,
  moved           boolean NOT NULL DEFAULT false,
  prior_queue     text,
  prior_assignee  text,
  payload         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_at ON events (at);

-- The highest id pruned: a client resuming from an older id has missed events and must reload.
CREATE TABLE event_horizon (
  single         boolean PRIMARY KEY DEFAULT true CHECK (single),
  pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO event_horizon DEFAULT VALUES;

CREATE FUNCTION switchboard_emit(kind text, conversation bigint, body jsonb, moved boolean DEFAULT false,
                                  prior_queue text DEFAULT NULL, prior_assignee text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  q text;
  a text;
BEGIN
  -- Class 0x5345 ("SE"), object 1: the events' commit order (a class no other lock uses).
  PERFORM pg_advisory_xact_lock(21317, 1);
  SELECT c.queue, c.assignee INTO q, a FROM conversations c WHERE c.id = conversation;
  INSERT INTO events (type, conversation_id, queue, assignee, moved, prior_queue, prior_assignee, payload)
  VALUES (kind, conversation, q, a, moved, prior_queue, prior_assignee, body);
  PERFORM pg_notify('switchboard_events', '');
END $$;

CREATE FUNCTION switchboard_message_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM switchboard_emit('message.created', NEW.conversation_id, jsonb_build_object('message', jsonb_build_object(
    'id', NEW.id::text, 'direction', NEW.direction, 'channel', NEW.channel, 'account', NEW.account,
    'sender', NEW.sender, 'text', left(NEW.body, 2000), 'truncated', length(NEW.body) > 2000,
    'created_at', switchboard_time(NEW.created_at))));
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER messages_event AFTER INSERT ON messages
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_message_event();

CREATE FUNCTION switchboard_delivery_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM switchboard_emit('message.updated',
    (SELECT m.conversation_id FROM messages m WHERE m.id = NEW.message_id),
    jsonb_build_object('message_id', NEW.message_id::text, 'delivery_state', NEW.state,
                       'last_error', NEW.last_error));
  RETURN NULL;
END $$;
-- Replies only: the rules' notify rows also point at a message, but are not part of it.
CREATE CONSTRAINT TRIGGER outbox_event AFTER UPDATE OF state ON outbox
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state AND NEW.channel <> 'notify')
  EXECUTE FUNCTION switchboard_delivery_event();

CREATE FUNCTION switchboard_conversation_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.state, OLD.queue, OLD.priority, OLD.tags) IS DISTINCT FROM (NEW.state, NEW.queue, NEW.priority, NEW.tags) THEN
    PERFORM switchboard_emit('conversation.updated', NEW.id, jsonb_build_object('conversation', jsonb_build_object(
      'state', NEW.state, 'queue', NEW.queue, 'priority', NEW.priority, 'tags', to_jsonb(NEW.tags),
      'assignee', NEW.assignee)), true, OLD.queue, OLD.assignee);
  END IF;
  IF OLD.assignee IS DISTINCT FROM NEW.assignee THEN
    PERFORM switchboard_emit('conversation.assigned', NEW.id,
      jsonb_build_object('assignee', NEW.assignee, 'previous', OLD.assignee), true, OLD.queue, OLD.assignee);
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER conversations_event AFTER UPDATE ON conversations
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN ((OLD.state, OLD.queue, OLD.priority, OLD.tags, OLD.assignee)
        IS DISTINCT FROM (NEW.state, NEW.queue, NEW.priority, NEW.tags, NEW.assignee))
  EXECUTE FUNCTION switchboard_conversation_event();

CREATE FUNCTION switchboard_note_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM switchboard_emit('note.created', NEW.conversation_id, jsonb_build_object('note', jsonb_build_object(
    'id', NEW.id::text, 'conversation_id', NEW.conversation_id::text, 'author', NEW.author,
    'text', left(NEW.body, 2000), 'truncated', length(NEW.body) > 2000,
    'created_at', switchboard_time(NEW.created_at))));
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER notes_event AFTER INSERT ON notes
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_note_event();
