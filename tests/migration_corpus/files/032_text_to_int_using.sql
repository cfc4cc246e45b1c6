-- corpus: dangerous column-type-rewrite
-- setup: existing
-- observe: rewrite public.customers
-- observe: lock AccessExclusiveLock public.customers
ALTER TABLE customers ALTER COLUMN external_ref SET DATA TYPE integer USING external_ref::integer;
