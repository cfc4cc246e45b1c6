-- corpus: dangerous client-breaking
-- setup: existing
-- observe: lock AccessExclusiveLock public.audit_log
-- observe: catalog to_regclass('public.audit_log') IS NULL AND to_regclass('archive.audit_log') IS NOT NULL
ALTER TABLE audit_log SET SCHEMA archive;
