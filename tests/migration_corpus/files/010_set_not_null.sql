-- corpus: dangerous set-not-null
-- setup: existing
-- observe: scan public.items
-- observe: lock AccessExclusiveLock public.items
-- observe: catalog (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'stock')
ALTER TABLE items ALTER COLUMN stock SET NOT NULL;
