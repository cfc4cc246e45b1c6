-- corpus: safe
-- setup: existing
-- requires: 104_foreign_key_not_valid.sql
-- observe: scan public.orders
-- observe: lock ShareUpdateExclusiveLock public.orders
-- observe: no-lock ShareRowExclusiveLock *
-- observe: no-lock ShareLock *
-- observe: no-lock AccessExclusiveLock *
-- observe: catalog (SELECT convalidated FROM pg_constraint WHERE conname = 'orders_item_id_fkey')
ALTER TABLE orders VALIDATE CONSTRAINT orders_item_id_fkey;
