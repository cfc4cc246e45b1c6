-- corpus: dangerous index-not-concurrent
-- setup: existing
-- observe: lock AccessExclusiveLock public.customers
DROP INDEX IF EXISTS public.customers_email_idx;
