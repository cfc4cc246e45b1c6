-- corpus: dangerous client-breaking
-- setup: existing
-- observe: lock AccessExclusiveLock public.orders
-- observe: catalog NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'orders_quantity_check')
ALTER TABLE orders DROP CONSTRAINT orders_quantity_check;
