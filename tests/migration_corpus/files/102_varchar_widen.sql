-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-scan *
ALTER TABLE orders ALTER COLUMN note TYPE varchar(100);
