-- corpus: safe
-- setup: existing
-- requires: 118_check_not_null_not_valid.sql
-- observe: scan public.items
-- observe: lock ShareUpdateExclusiveLock public.items
-- observe: no-lock AccessExclusiveLock *
-- observe: no-lock ShareLock *
ALTER TABLE items VALIDATE CONSTRAINT items_stock_not_null;
