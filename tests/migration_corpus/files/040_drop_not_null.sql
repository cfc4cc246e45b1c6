-- corpus: dangerous client-breaking
-- setup: existing
-- observe: no-rewrite public.items
-- observe: catalog NOT (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'sku')
ALTER TABLE items ALTER COLUMN sku DROP NOT NULL;
