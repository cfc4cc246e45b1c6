-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-scan *
ALTER TABLE customers
    ADD COLUMN preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN tier text DEFAULT 'standard';
