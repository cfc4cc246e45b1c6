-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-scan *
-- observe: catalog (SELECT count(*) = 0 FROM items WHERE sku = 'unassigned')
ALTER TABLE items ALTER COLUMN sku SET DEFAULT 'unassigned';
