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

-- Customers by what an agent types: a phone number or an e-mail address is an identity (looked
-- up by value, whatever its kind), a name is matched by its words folded here the way the daemon
-- folds (Polish and the common Latin letters; lower() alone would keep 'Ł' under the C locale),
-- found through the index of each name's words.
CREATE INDEX identities_by_value ON identities (value);

CREATE FUNCTION switchboard_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(translate(t,
    'ĄĆĘŁŃÓŚŹŻąćęłńóśźżÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòôõöøùúûüýÿČĎĚŇŘŠŤŮŽčďěňřšťůž',
    'ACELNOSZZacelnoszzAAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyCDENRSTUZcdenrstuz'))
$$;

CREATE TABLE customer_name_words (
  customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  word        text NOT NULL,
  PRIMARY KEY (customer_id, word)
);
CREATE INDEX customer_name_words_by_word ON customer_name_words (word text_pattern_ops);

CREATE FUNCTION switchboard_name_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM customer_name_words WHERE customer_id = NEW.id;
  INSERT INTO customer_name_words (customer_id, word)
    SELECT DISTINCT NEW.id, w FROM regexp_split_to_table(switchboard_fold(NEW.display_name), '[[:space:][:punct:]]+') AS w
     WHERE w <> '' AND length(w) <= 100;
  RETURN NULL;
END $$;
CREATE TRIGGER customers_name_words AFTER INSERT ON customers
  FOR EACH ROW WHEN (NEW.display_name <> '') EXECUTE FUNCTION switchboard_name_words();
CREATE TRIGGER customers_name_words_changed AFTER UPDATE OF display_name ON customers
  FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name) EXECUTE FUNCTION switchboard_name_words();

INSERT INTO customer_name_words (customer_id, word)
  SELECT DISTINCT c.id, w FROM customers c, regexp_split_to_table(switchboard_fold(c.display_name), '[[:space:][:punct:]]+') AS w
   WHERE w <> '' AND length(w) <= 100;
