-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-scan *
-- observe: catalog (SELECT atthasmissing FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'discount_cents')
ALTER TABLE orders ADD COLUMN discount_cents integer NOT NULL DEFAULT 0;
