-- corpus: dangerous constraint-not-valid-missing
-- setup: existing
-- observe: scan public.orders
-- observe: lock ShareRowExclusiveLock public.orders
-- observe: lock ShareRowExclusiveLock public.items
ALTER TABLE orders
    ADD CONSTRAINT orders_item_id_fkey FOREIGN KEY (item_id) REFERENCES items (id);
