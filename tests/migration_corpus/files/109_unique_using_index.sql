-- corpus: safe
-- setup: existing
-- requires: 108_unique_index_concurrently.sql
-- observe: no-scan *
-- observe: no-rewrite *
-- observe: no-lock ShareLock *
-- observe: catalog EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'items_sku_key' AND contype = 'u')
ALTER TABLE items ADD CONSTRAINT items_sku_key UNIQUE USING INDEX items_sku_key;
