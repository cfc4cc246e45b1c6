-- corpus: dangerous rewrite-command
-- setup: existing
-- observe: rewrite public.items
-- observe: lock AccessExclusiveLock public.items
CLUSTER items USING items_pkey;
