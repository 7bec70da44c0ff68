-- 0011_outbox_fencing: replies sent once. Three facts about the newest claim of an outbox row:
--
-- claim_id: a fencing token, new with every claim. A send's result is recorded only when it
-- names the row's current claim, so a sender that wakes up after its lease was released and the
-- row claimed again can never overwrite the new claim's result. A released row keeps its claim
-- id until claimed again: a late result that arrives before then is still the truth, recorded.
--
-- claimed_by: the advisory-lock key of the daemon instance that claimed it. Every running
-- daemon holds a session-level advisory lock (storage/instance_lock.hpp); a 'sending' row whose
-- instance holds no lock any more belongs to a dead daemon and goes back to the queue at once,
-- not after the full lease.
--
-- in_doubt_since: set just before the platform is called, cleared when a result is recorded.
-- A row queued again with it set was (or may have been) handed to the platform without a
-- recorded answer: its next sender asks the channel adapter whether a resend is safe first.

ALTER TABLE outbox ADD COLUMN claim_id uuid;
ALTER TABLE outbox ADD COLUMN claimed_by integer;
ALTER TABLE outbox ADD COLUMN in_doubt_since timestamptz;

-- Rows 'sending' from an older build have no claim: they go back to the queue by their lease,
-- and their outcome is unknown since they were claimed (updated_at).
UPDATE outbox SET in_doubt_since = coalesce(updated_at, lease_until - interval '5 minutes', now()) WHERE state = 'sending';
