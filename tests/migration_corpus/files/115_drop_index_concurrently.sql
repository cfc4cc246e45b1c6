-- releaseops:no-transaction
-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: catalog to_regclass('public.orders_placed_at_idx') IS NULL
DROP INDEX CONCURRENTLY IF EXISTS orders_placed_at_idx;
