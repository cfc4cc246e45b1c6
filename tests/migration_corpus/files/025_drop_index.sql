-- corpus: dangerous index-not-concurrent
-- setup: existing
-- observe: lock AccessExclusiveLock public.orders
-- observe: catalog to_regclass('public.orders_placed_at_idx') IS NULL
DROP INDEX orders_placed_at_idx;
