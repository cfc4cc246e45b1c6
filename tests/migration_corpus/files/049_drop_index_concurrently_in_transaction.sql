-- corpus: dangerous concurrently-in-transaction
-- setup: existing
-- observe: error 25001
-- observe: catalog to_regclass('public.orders_placed_at_idx') IS NOT NULL
DROP INDEX CONCURRENTLY IF EXISTS orders_placed_at_idx;
