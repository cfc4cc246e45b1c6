-- corpus: dangerous set-not-null
-- setup: existing
-- observe: scan public.orders
-- observe: lock AccessExclusiveLock public.orders
ALTER TABLE ONLY public.orders ALTER quantity SET NOT NULL;
