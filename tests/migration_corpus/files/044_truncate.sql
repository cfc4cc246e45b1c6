-- corpus: dangerous data-destructive
-- setup: existing
-- observe: rewrite public.audit_log
-- observe: lock AccessExclusiveLock public.audit_log
-- observe: catalog NOT EXISTS (SELECT 1 FROM audit_log)
TRUNCATE audit_log;
