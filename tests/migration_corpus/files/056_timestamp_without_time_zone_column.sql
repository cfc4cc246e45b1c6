-- corpus: dangerous prefer-timestamptz
-- setup: existing
-- observe: no-rewrite public.items
-- observe: catalog (SELECT atttypid = 'timestamp without time zone'::regtype FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'updated_at')
ALTER TABLE items ADD COLUMN updated_at timestamp without time zone;
