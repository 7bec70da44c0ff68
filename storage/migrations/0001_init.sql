-- 0001_init: customers and their identities, conversations, messages, the outbox and the audit
-- trail. storage/migrate.cpp runs this file in one transaction and records it in
-- schema_migrations; the file itself therefore has no BEGIN/COMMIT.
--
-- Enumerations are text with CHECK constraints rather than PostgreSQL enum types: adding a value
-- later is a plain constraint swap inside a migration's transaction, and the values read the same
-- in psql, in JSON and in the rules file.

-- A person or company writing to us, whatever the channel. merged_into points at the customer that
-- absorbed this one once two turned out to be the same person (the merge itself is audited).
CREATE TABLE customers (
  id           bigserial PRIMARY KEY,
  display_name text NOT NULL DEFAULT '',
  language     text,
  tags         text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  merged_into  bigint REFERENCES customers (id)
);

-- How a customer is recognised: a phone number is one identity whether it writes by SMS or by
-- WhatsApp. The primary key is the UNIQUE(kind, value) that makes identity resolution a lookup.
CREATE TABLE identities (
  kind        text NOT NULL CHECK (kind IN ('phone', 'email', 'messenger_psid', 'whatsapp_user',
                                            'webchat_visitor', 'api')),
  value       text NOT NULL,
  customer_id bigint NOT NULL REFERENCES customers (id),
  verified    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, value)
);
-- A customer's identities, for export/erasure (RODO/GDPR) and merges.
CREATE INDEX identities_by_customer ON identities (customer_id);

CREATE TABLE conversations (
  id                bigserial PRIMARY KEY,
  customer_id       bigint NOT NULL REFERENCES customers (id),
  state             text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'pending', 'resolved')),
  queue             text,
  assignee          text,
  priority          text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  tags              text[] NOT NULL DEFAULT '{}',
  -- Inbound messages in this conversation, kept by the pipeline in the same UPDATE that sets
  -- last_message_at: rules see it for every message, and counting rows instead would cost time
  -- in proportion to the conversation's length. Merging conversations must add the counts.
  inbound_count     integer NOT NULL DEFAULT 0,
  opened_at         timestamptz NOT NULL,
  first_response_at timestamptz,
  resolved_at       timestamptz,
  last_message_at   timestamptz
);
-- A customer has at most one open (or pending) conversation, which every inbound message joins.
-- The pipeline serialises itself with advisory locks; this index is what makes the rule hold for
-- every writer, and it is also the index the pipeline's lookup of that conversation uses.
CREATE UNIQUE INDEX conversations_one_active_per_customer ON conversations (customer_id)
  WHERE state IN ('open', 'pending');
-- A customer's history, newest last (console, export, reopening a recent conversation).
CREATE INDEX conversations_by_customer ON conversations (customer_id, opened_at);

CREATE TABLE messages (
  id              bigserial PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES conversations (id),
  direction       text NOT NULL CHECK (direction IN ('in', 'out')),
  channel         text NOT NULL CHECK (channel IN ('api', 'webchat', 'email', 'messenger', 'whatsapp', 'sms')),
  account         text NOT NULL,
  -- The platform's id. NULL for our outbound messages until the platform has accepted them;
  -- inbound messages always have one, or a redelivery could not be recognised (NULLs never
  -- collide in a unique index).
  external_id     text CHECK (direction = 'out' OR external_id IS NOT NULL),
  sender          text NOT NULL DEFAULT '',
  body            text NOT NULL,
  attachments     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
  sent_at         timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- Platforms deliver at least once: a redelivery hits this key and is recognised as a duplicate.
  CONSTRAINT messages_external_id_key UNIQUE (channel, account, external_id)
);
-- A conversation's messages in order: the console's and the API's most frequent read.
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at);

-- Messages waiting to be sent, written in the same transaction as the decision that wants them
-- sent; workers claim rows with FOR UPDATE SKIP LOCKED and are woken by NOTIFY switchboard_outbox.
CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  message_id      bigint NOT NULL REFERENCES messages (id),
  channel         text NOT NULL CHECK (channel IN ('api', 'webchat', 'email', 'messenger', 'whatsapp', 'sms')),
  account         text NOT NULL,
  recipient       text,
  payload         jsonb NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The workers' "what is due" scan. Partial: sent and failed rows, the vast majority, are never
-- scanned again and cost nothing here.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'queued';
-- Delivery state of a message (conversation listings, delivery reports), and the foreign key's
-- own need when messages are erased.
CREATE INDEX outbox_by_message ON outbox (message_id);

-- What decided what: one row per routed message, with the hash of the rules that were active, so
-- that `switchboard replay` and people can explain any past decision.
CREATE TABLE audit (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  message_id      bigint REFERENCES messages (id),
  -- Also reachable through message_id; kept for queries by conversation. No foreign key: it
  -- would need a second index on this append-heavy table only to make erasure checks fast.
  conversation_id bigint,
  rule            text,  -- NULL when no rule matched
  rules_hash      text NOT NULL,
  decision        jsonb NOT NULL
);
-- A message's decisions (explain, replay), and the foreign key's own need when messages are erased.
CREATE INDEX audit_by_message ON audit (message_id);
