-- corpus: dangerous index-not-concurrent
-- setup: existing
-- observe: scan public.items
-- observe: lock ShareLock public.items
CREATE UNIQUE INDEX IF NOT EXISTS items_lower_sku_idx ON public.items USING btree (lower(sku));
