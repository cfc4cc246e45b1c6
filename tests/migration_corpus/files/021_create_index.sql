-- corpus: dangerous index-not-concurrent
-- setup: existing
-- observe: scan public.orders
-- observe: lock ShareLock public.orders
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
