-- corpus: dangerous column-type-rewrite
-- setup: existing
-- observe: rewrite public.customers
-- observe: rewrite public.customers_pkey
-- observe: lock AccessExclusiveLock public.customers
ALTER TABLE customers ALTER id TYPE int8;
