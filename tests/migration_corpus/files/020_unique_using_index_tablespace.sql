-- corpus: dangerous unique-without-index
-- setup: existing
-- USING INDEX TABLESPACE only says where the new index goes: it is still built here.
-- observe: scan public.customers
-- observe: lock AccessExclusiveLock public.customers
-- observe: catalog to_regclass('public.customers_email_key') IS NOT NULL
ALTER TABLE customers
    ADD CONSTRAINT customers_email_key UNIQUE (email) USING INDEX TABLESPACE pg_default;
