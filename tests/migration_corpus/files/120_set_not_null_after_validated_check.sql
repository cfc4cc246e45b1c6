-- corpus: safe
-- setup: existing
-- requires: 119_check_not_null_validate.sql
-- The validated CHECK (stock IS NOT NULL) proves there is no NULL: the ACCESS EXCLUSIVE lock is
-- held only for the catalog change, the table is not scanned.
-- observe: no-scan *
-- observe: no-rewrite *
-- observe: lock AccessExclusiveLock public.items
-- observe: catalog (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'stock')
ALTER TABLE items ALTER COLUMN stock SET NOT NULL;
