-- People sign in (issue 14): their password hashes and server-side sessions. People themselves are
-- declared in the rules file (the key of `people:` is the login); these rows hold credentials and
-- live state only.
CREATE TABLE person_credentials (
  login          text PRIMARY KEY CHECK (login <> ''),
  password_hash  text NOT NULL,   -- libsodium crypto_pwhash_str (Argon2id), parameters included
  changed_at     timestamptz NOT NULL DEFAULT now()
);

-- A session is known by the SHA-256 of its cookie value (the value itself is never stored); its
-- CSRF token likewise. Revoked by logout, by a password change, by the person leaving the rules
-- file; expired after the configured time.
CREATE TABLE sessions (
  id           bigserial PRIMARY KEY,
  token_sha256 text NOT NULL UNIQUE,   -- hex
  csrf_sha256  text NOT NULL,
  login        text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz
);
CREATE INDEX sessions_by_login ON sessions (login) WHERE revoked_at IS NULL;
