-- corpus: safe
-- setup: existing
-- observe: lock RowExclusiveLock public.items
-- observe: no-lock AccessExclusiveLock *
-- observe: no-lock ShareLock *
-- observe: no-scan public.items
-- observe: catalog (SELECT count(*) = 1892 FROM items WHERE stock <> 0)
UPDATE items SET stock = 0 WHERE id BETWEEN 1 AND 100;
