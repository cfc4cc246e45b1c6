-- releaseops:no-transaction
-- corpus: dangerous rewrite-command
-- setup: existing
-- observe: rewrite public.orders
-- observe: rewrite public.orders_pkey
VACUUM (FULL, ANALYZE) orders;
