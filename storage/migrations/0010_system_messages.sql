-- 0010_system_messages: messages that are not part of any customer dialogue: bounces, delivery
-- reports, read receipts, abuse reports, virus notifications. Kept (nothing a mailbox received is
-- lost), shown in the conversation of the reply they concern (or, when none is known, in the
-- account's own list), counted, never routed and never answered. A separate table, so that the
-- conversation's dialogue, its counts and the rules never see them.
CREATE TABLE system_messages (
  id                  bigserial PRIMARY KEY,
  channel             text NOT NULL CHECK (channel IN ('api', 'webchat', 'email', 'messenger', 'whatsapp', 'sms')),
  account             text NOT NULL,
  external_id         text NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('bounce', 'delivery_report', 'read_receipt', 'abuse_report',
                                                    'notification')),
  -- The conversation of our message it concerns; NULL when that is not known.
  conversation_id     bigint REFERENCES conversations (id),
  concerns_message_id bigint REFERENCES messages (id),
  sender              text NOT NULL DEFAULT '',
  subject             text NOT NULL DEFAULT '',
  body                text NOT NULL DEFAULT '',
  -- What it said of the message it concerns ('failed' for a bounce) and why.
  status              text,
  error               text,
  defects             text[] NOT NULL DEFAULT '{}',
  sent_at             timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  -- A mailbox scanned again (a new UIDVALIDITY) finds the same report: recognised, not doubled.
  CONSTRAINT system_messages_external_id_key UNIQUE (channel, account, external_id)
);
-- A conversation's system messages, beside its messages.
CREATE INDEX system_messages_by_conversation ON system_messages (conversation_id, created_at)
  WHERE conversation_id IS NOT NULL;
-- The account's own list: reports about nothing we know.
CREATE INDEX system_messages_unlinked ON system_messages (channel, account, created_at)
  WHERE conversation_id IS NULL;
-- The foreign key's own need when messages are erased.
CREATE INDEX system_messages_by_concerned ON system_messages (concerns_message_id)
  WHERE concerns_message_id IS NOT NULL;
