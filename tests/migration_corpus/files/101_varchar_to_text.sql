-- corpus: safe
-- setup: existing
-- varchar(n) -> text is binary coercible: no rewrite, no scan, and the index on the column is kept.
-- observe: no-rewrite *
-- observe: no-scan *
ALTER TABLE customers ALTER COLUMN email TYPE text;
