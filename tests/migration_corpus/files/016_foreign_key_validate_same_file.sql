-- corpus: dangerous validate-same-transaction
-- setup: existing
-- The VALIDATE scans orders while the same transaction still holds the SHARE ROW EXCLUSIVE
-- lock the ADD took: writes to orders and items wait for the whole scan.
-- observe@1: no-scan public.orders
-- observe@2: scan public.orders
-- observe@2: lock ShareRowExclusiveLock public.orders
-- observe@2: lock ShareRowExclusiveLock public.items
ALTER TABLE orders
    ADD CONSTRAINT orders_item_id_fkey FOREIGN KEY (item_id) REFERENCES items (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_item_id_fkey;
