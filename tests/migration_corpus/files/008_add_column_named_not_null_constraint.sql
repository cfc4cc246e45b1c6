-- corpus: dangerous add-column-not-null-no-default
-- setup: existing
-- observe: error 23502
ALTER TABLE public.orders ADD COLUMN region text CONSTRAINT orders_region_not_null NOT NULL;
