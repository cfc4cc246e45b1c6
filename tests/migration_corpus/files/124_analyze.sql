-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-lock AccessExclusiveLock *
-- observe: no-lock ShareLock *
-- observe: lock ShareUpdateExclusiveLock public.items
ANALYZE items;
