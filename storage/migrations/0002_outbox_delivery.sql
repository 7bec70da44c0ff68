-- 0002_outbox_delivery: leases for outbox rows being sent. A worker that claims a row holds it
-- until lease_until; a row still 'sending' after that belongs to a worker that died or hung, and
-- storage/outbox.cpp puts it back in the queue (at-least-once: receivers de-duplicate on the
-- outbox id).

ALTER TABLE outbox ADD COLUMN lease_until timestamptz;

-- Rows left 'sending' by hand or by an older build have no lease: due for release at once.
UPDATE outbox SET lease_until = now() WHERE state = 'sending';

-- A 'sending' row without a lease would never be released: this makes the rule hold for every
-- writer, not only for the claim statement.
ALTER TABLE outbox ADD CONSTRAINT outbox_sending_has_lease
  CHECK (state <> 'sending' OR lease_until IS NOT NULL);

-- The release sweep's scan. Partial: only rows in flight, a handful at any time.
CREATE INDEX outbox_leased ON outbox (lease_until) WHERE state = 'sending';
