-- corpus: dangerous data-destructive
-- setup: existing
-- observe: scan public.orders
-- observe: lock RowExclusiveLock public.orders
-- observe: catalog NOT EXISTS (SELECT 1 FROM orders)
DELETE FROM orders;
