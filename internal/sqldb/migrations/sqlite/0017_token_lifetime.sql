-- A token's lifetime counts from its creation or its latest regeneration
-- (an organization's maximum lifetime applies at every use), so the time
-- of the regeneration is kept. NULL: never regenerated.
ALTER TABLE tokens ADD COLUMN regenerated_at BIGINT;
