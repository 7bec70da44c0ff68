-- 0009_email_full_text: the whole text of a mail, quoted history included. messages.body holds
-- the new text of a reply (what rules and agents read first); this keeps the original.
ALTER TABLE email_headers ADD COLUMN full_text text NOT NULL DEFAULT '';
