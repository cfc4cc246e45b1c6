-- corpus: dangerous volatile-default
-- setup: existing
-- observe: rewrite public.items
-- observe: lock AccessExclusiveLock public.items
ALTER TABLE items ADD COLUMN token double precision DEFAULT random();
