-- 0008_email_defects: what was malformed in a stored mail (broken MIME, undecodable bytes), so
-- that an agent reading a garbled message knows why; empty for clean mail.
ALTER TABLE email_headers ADD COLUMN defects text[] NOT NULL DEFAULT '{}';
