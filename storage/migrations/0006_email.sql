-- 0006_email: where each mailbox's intake stands, and what e-mail threading needs.

-- The IMAP position of a mailbox folder: mail up to last_uid under this uidvalidity is stored.
-- A new uidvalidity (the server renumbered the folder) starts the scan again; mail stored before
-- is recognised by its external_id (Message-ID and the hash of its raw bytes), not stored twice.
CREATE TABLE mailbox_positions (
  mailbox     text NOT NULL,
  folder      text NOT NULL,
  uidvalidity bigint NOT NULL,
  last_uid    bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (mailbox, folder)
);

-- The headers of inbound mail that replies and threading need: a reply quotes the subject and
-- refers to the Message-ID; a later mail whose In-Reply-To/References names it joins its
-- conversation. (Our own sent mail is found by messages.external_id, its Message-ID.)
CREATE TABLE email_headers (
  message_id        bigint PRIMARY KEY REFERENCES messages (id),
  message_id_header text,
  subject           text NOT NULL DEFAULT '',
  references_ids    text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX email_headers_by_message_id_header ON email_headers (message_id_header)
  WHERE message_id_header IS NOT NULL;
