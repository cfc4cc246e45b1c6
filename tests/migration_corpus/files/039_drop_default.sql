-- corpus: dangerous client-breaking
-- setup: existing
-- observe: no-rewrite public.items
-- observe: catalog NOT (SELECT atthasdef FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'created_at')
ALTER TABLE items ALTER COLUMN created_at DROP DEFAULT;
