-- corpus: safe
-- setup: existing
-- now() is stable: evaluated once, stored as the column's "missing" value, no row is touched.
-- observe: no-rewrite *
-- observe: no-scan *
-- observe: catalog (SELECT count(DISTINCT imported_at) = 1 FROM items)
ALTER TABLE items ADD COLUMN imported_at timestamptz NOT NULL DEFAULT now();
