-- 0016_search (issue 15): full-text search of the whole history, Polish-aware, on any
-- PostgreSQL. The daemon computes each message's lexemes (search/terms.hpp: words folded to
-- lower case without diacritics, plus their Polish stems from hunspell-pl) and stores them as a
-- tsvector; queries are built the same way and matched with the 'simple' configuration. No
-- dictionary, extension or text-search configuration is needed on the server.

CREATE TABLE message_search (
  message_id bigint PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  lexemes    tsvector NOT NULL
);
CREATE INDEX message_search_lexemes ON message_search USING gin (lexemes);

-- Messages waiting for their lexemes: a row per new message, written in the message's own
-- transaction (so none is forgotten), taken by the daemon's indexer with SKIP LOCKED (several
-- daemons share the work). An insert-only side table: stemming stays out of the intake path.
CREATE TABLE search_queue (
  message_id bigint PRIMARY KEY
);
CREATE FUNCTION switchboard_search_enqueue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_queue (message_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER messages_search AFTER INSERT ON messages
  FOR EACH ROW EXECUTE FUNCTION switchboard_search_enqueue();

-- The history so far is indexed by the same worker, newest first.
INSERT INTO search_queue (message_id) SELECT id FROM messages;

-- Customers by what an agent types: a phone number or an e-mail address is an identity (the
-- identities' primary key), a name is matched by its words folded here the way the daemon folds
-- (Polish and the common Latin letters; lower() alone would keep 'Ł' under the C locale).
CREATE FUNCTION switchboard_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(translate(t,
    'ĄĆĘŁŃÓŚŹŻąćęłńóśźżÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòôõöøùúûüýÿČĎĚŇŘŠŤŮŽčďěňřšťůž',
    'ACELNOSZZacelnoszzAAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyCDENRSTUZcdenrstuz'))
$$;
