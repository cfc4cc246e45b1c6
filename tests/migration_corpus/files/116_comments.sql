-- corpus: safe
-- setup: existing
-- observe: no-lock AccessExclusiveLock *
-- observe: no-lock ShareLock *
-- observe: no-rewrite *
-- observe: no-scan *
-- observe: catalog col_description('items'::regclass, 2) = 'Stock keeping unit, unique per item'
COMMENT ON COLUMN items.sku IS 'Stock keeping unit, unique per item';
COMMENT ON TABLE orders IS 'One row per order line';
