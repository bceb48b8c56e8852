-- Claims on work in flight, for several instances on one database (issue 14 §2; bot/src/store/claims.rs).
-- An outbox row or GitHub request is sent over HTTP outside any transaction, so an instance claims it
-- first: `lease_owner` is the claiming instance's name (NULL: unclaimed), `lease_until` when the claim
-- expires (Unix ms; another instance may then take the row over, looking first), `fence` is bumped at
-- every claim, and an outcome is recorded only by the holder of the current fence.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
ALTER TABLE outbox ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE github_requests ADD COLUMN lease_owner TEXT;
ALTER TABLE github_requests ADD COLUMN lease_until INTEGER;
ALTER TABLE github_requests ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
