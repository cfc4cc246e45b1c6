-- corpus: dangerous concurrently-in-transaction
-- setup: existing
-- observe: error 25001
-- observe: catalog to_regclass('public.orders_status_idx') IS NULL
CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
