-- corpus: dangerous volatile-default
-- setup: existing
-- observe: rewrite public.orders
-- observe: lock AccessExclusiveLock public.orders
-- observe: catalog (SELECT count(DISTINCT public_id) FROM orders) = 3000
ALTER TABLE public.orders
    ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
