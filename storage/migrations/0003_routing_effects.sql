-- 0003_routing_effects: what the rules' later conditions and actions need.
--
-- Conditions on "messages since the last human reply" and "time since the last human reply" are
-- evaluated for every inbound message, so the facts live on the conversation row the pipeline
-- already reads and updates, instead of being counted from the messages each time. An agent's
-- reply resets them; each inbound message increments the count.
ALTER TABLE conversations
  ADD COLUMN last_human_reply_at timestamptz,
  ADD COLUMN inbound_since_human_reply integer NOT NULL DEFAULT 0;
UPDATE conversations SET inbound_since_human_reply = inbound_count;

-- Pages raised by the rules' `page:` action: who was on call when the message came, and the
-- escalation steps to follow until someone acknowledges. Sending and escalating them is the
-- paging worker's job; a row is written in the same transaction as the message that caused it.
CREATE TABLE pages (
  id              bigserial PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES conversations (id),
  message_id      bigint REFERENCES messages (id),
  schedule        text NOT NULL,
  person          text NOT NULL,
  ack_within      interval NOT NULL,
  steps           jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
  state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'expired')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  acknowledged_at timestamptz,
  acknowledged_by text
);
-- The paging worker's scan: open pages only.
CREATE INDEX pages_open ON pages (created_at) WHERE state = 'open';
CREATE INDEX pages_by_conversation ON pages (conversation_id);
