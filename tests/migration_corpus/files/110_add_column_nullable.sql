-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-scan *
ALTER TABLE items ADD COLUMN discontinued_at timestamptz;
