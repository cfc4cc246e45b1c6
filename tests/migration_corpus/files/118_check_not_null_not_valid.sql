-- corpus: safe
-- setup: existing
-- observe: no-scan *
-- observe: no-rewrite *
ALTER TABLE items ADD CONSTRAINT items_stock_not_null CHECK (stock IS NOT NULL) NOT VALID;
