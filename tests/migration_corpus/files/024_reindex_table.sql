-- corpus: dangerous index-not-concurrent
-- setup: existing
-- observe: rewrite public.items_pkey
-- observe: lock ShareLock public.items
REINDEX TABLE items;
