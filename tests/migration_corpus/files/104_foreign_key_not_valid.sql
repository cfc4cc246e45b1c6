-- corpus: safe
-- setup: existing
-- The SHARE ROW EXCLUSIVE locks last only as long as the catalog change: nothing is scanned.
-- observe: no-scan *
-- observe: no-rewrite *
-- observe: lock ShareRowExclusiveLock public.orders
-- observe: catalog NOT (SELECT convalidated FROM pg_constraint WHERE conname = 'orders_item_id_fkey')
ALTER TABLE orders
    ADD CONSTRAINT orders_item_id_fkey FOREIGN KEY (item_id) REFERENCES items (id) NOT VALID;
