-- releaseops:no-transaction
-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: catalog (SELECT indisvalid AND indisunique FROM pg_index WHERE indexrelid = 'public.items_sku_key'::regclass)
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_sku_key ON items (sku);
