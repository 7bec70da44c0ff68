-- 0005_platform_delivery: what the webhook platforms (Meta, Twilio) report back about the
-- messages we sent, opt-outs, and replies a platform window kept from being sent.

-- 'read': the platform says the customer has read it (WhatsApp, Messenger).
-- 'blocked': not sent because the platform's window was closed and no template applied; agents
-- see it and choose another channel.
ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check
  CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'blocked'));

-- How far a message has got. Status webhooks arrive out of order and more than once, and a state
-- is only ever replaced by one ranked higher (never read -> delivered).
CREATE FUNCTION sb_delivery_rank(state text) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE state WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'blocked' THEN 2
                          WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE 0 END $$;

-- Every status a platform reported, once per (message, status): the de-duplication key of status
-- webhooks, and the statuses that arrive before our own send has recorded the platform's id
-- (the send's answer and the first status race), which mark_sent applies then.
CREATE TABLE delivery_statuses (
  channel     text NOT NULL,
  account     text NOT NULL,
  external_id text NOT NULL,
  status      text NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed', 'blocked')),
  error       text,
  at          timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, account, external_id, status)
);

-- Addresses that asked not to be contacted on a channel (SMS STOP, Twilio error 21610). The
-- address is the one the platform uses (E.164 for SMS), as stored in outbox.recipient.
CREATE TABLE opt_outs (
  channel     text NOT NULL,
  address     text NOT NULL,
  since       timestamptz NOT NULL DEFAULT now(),
  source      text NOT NULL,
  PRIMARY KEY (channel, address)
);

-- Messenger's read and delivery receipts are watermarks per recipient ("everything sent to this
-- person up to then"): this finds the recipient's messages still short of that state.
CREATE INDEX outbox_by_recipient ON outbox (channel, account, recipient)
  WHERE state IN ('sent', 'delivered');
