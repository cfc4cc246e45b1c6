-- releaseops:no-transaction
-- corpus: safe
-- setup: existing
-- observe: no-rewrite *
-- observe: catalog (SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.audit_log_id_key'::regclass)
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS audit_log_id_key ON audit_log (id);
