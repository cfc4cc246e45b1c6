-- corpus: dangerous data-destructive
-- setup: existing
-- observe: scan public.items
-- observe: lock RowExclusiveLock public.items
-- observe: catalog (SELECT bool_and(stock = 0) FROM items)
UPDATE items SET stock = 0;
