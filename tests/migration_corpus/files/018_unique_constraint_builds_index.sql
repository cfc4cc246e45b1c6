-- corpus: dangerous unique-without-index
-- setup: existing
-- observe: scan public.items
-- observe: lock AccessExclusiveLock public.items
ALTER TABLE items ADD CONSTRAINT items_sku_key UNIQUE (sku);
