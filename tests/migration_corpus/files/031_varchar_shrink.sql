-- corpus: dangerous column-type-rewrite
-- setup: existing
-- observe: rewrite public.orders
-- observe: lock AccessExclusiveLock public.orders
ALTER TABLE orders ALTER COLUMN note TYPE varchar(20);
