-- A creating POST can say how to find what it creates (a GET listing and a marker in the created
-- thing's body, JSON `LookFirst`), so that the GitHub worker looks before sending it again when an
-- earlier attempt may have reached GitHub (its answer lost, or its instance dead in flight).
ALTER TABLE github_requests ADD COLUMN look_first TEXT;
