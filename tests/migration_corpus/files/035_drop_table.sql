-- corpus: dangerous client-breaking
-- setup: existing
-- observe: lock AccessExclusiveLock public.audit_log
-- observe: catalog to_regclass('public.audit_log') IS NULL
DROP TABLE audit_log;
