-- corpus: dangerous client-breaking
-- setup: existing
-- observe: lock AccessExclusiveLock public.customers
-- observe: catalog NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = 'email')
ALTER TABLE customers RENAME COLUMN email TO email_address;
