-- corpus: dangerous client-breaking
-- setup: existing
-- observe: no-rewrite public.items
-- observe: lock AccessExclusiveLock public.items
-- observe: catalog NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'description' AND NOT attisdropped)
ALTER TABLE items DROP COLUMN description;
