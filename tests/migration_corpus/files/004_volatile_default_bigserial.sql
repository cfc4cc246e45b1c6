-- corpus: dangerous volatile-default
-- setup: existing
-- A serial column's default is nextval(), which is volatile: every existing row gets its own
-- value, so the table is rewritten.
-- observe: rewrite public.audit_log
-- observe: lock AccessExclusiveLock public.audit_log
-- observe: catalog (SELECT count(DISTINCT seq) FROM audit_log) = 1000
ALTER TABLE audit_log ADD COLUMN seq bigserial;
