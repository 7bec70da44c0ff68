-- Personal API tokens (issue 14): random, shown once, stored as the SHA-256 of the value, carrying
-- the person's role as the rules file says it at each use; revocable.
CREATE TABLE api_tokens (
  id            bigserial PRIMARY KEY,
  login         text NOT NULL CHECK (login <> ''),
  name          text NOT NULL,
  token_sha256  text NOT NULL UNIQUE,   -- hex
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_tokens_by_login ON api_tokens (login) WHERE revoked_at IS NULL;
