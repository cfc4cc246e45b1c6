-- corpus: dangerous volatile-default
-- setup: existing
-- observe: rewrite public.customers
-- observe: lock AccessExclusiveLock public.customers
alter table customers add column if not exists seen_at timestamptz default clock_timestamp();
