-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: no-scan *
-- observe: no-lock AccessExclusiveLock *
-- observe: lock ShareUpdateExclusiveLock public.items
ALTER TABLE items SET (autovacuum_vacuum_scale_factor = 0.05);
