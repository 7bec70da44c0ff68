-- 0007_email_limits: attachment bytes, and the per-address cap on automatic e-mail replies.

-- The bytes of a message's attachments (messages.attachments holds their metadata, in the same
-- order: `position` indexes that array). Only attachments under the mailbox's size limit are
-- kept; larger ones stay on the mail server and are described by their metadata alone.
CREATE TABLE attachment_contents (
  message_id bigint NOT NULL REFERENCES messages (id),
  position   integer NOT NULL CHECK (position >= 0),
  bytes      bytea NOT NULL,
  PRIMARY KEY (message_id, position)
);

-- "When did this address last get an automatic mail from us": asked for every e-mail a rule
-- wants to answer (RFC 3834 asks responders not to answer the same sender again soon).
CREATE INDEX outbox_email_auto_replies ON outbox (recipient, created_at)
  WHERE channel = 'email' AND NOT (payload ? 'author');
