-- releaseops:no-transaction
-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: catalog (SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.orders_customer_id_idx'::regclass)
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
