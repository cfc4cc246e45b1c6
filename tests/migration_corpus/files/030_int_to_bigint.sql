-- corpus: dangerous column-type-rewrite
-- setup: existing
-- observe: rewrite public.items
-- observe: lock AccessExclusiveLock public.items
ALTER TABLE items ALTER COLUMN price_cents TYPE bigint;
