-- 0004_notify_channel: the outbox also carries rule notifications (the `notify:` action), sent
-- by the notify adapter to a URL from the rules file. Their outbox row points at the inbound
-- message that caused them; they are not messages of the conversation.
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check
  CHECK (channel IN ('api', 'webchat', 'email', 'messenger', 'whatsapp', 'sms', 'notify'));
