-- corpus: dangerous index-not-concurrent
-- setup: existing
-- observe: rewrite public.orders_placed_at_idx
-- observe: lock ShareLock public.orders
-- observe: lock AccessExclusiveLock public.orders_placed_at_idx
REINDEX INDEX orders_placed_at_idx;
