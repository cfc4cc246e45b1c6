-- corpus: dangerous set-not-null
-- setup: existing
-- requires: 125_unique_index_concurrently_audit_log.sql
-- USING INDEX spares the index build, but audit_log.id is nullable: PostgreSQL adds NOT NULL
-- to it, which scans the table under the ACCESS EXCLUSIVE lock.
-- observe: scan public.audit_log
-- observe: lock AccessExclusiveLock public.audit_log
-- observe: notice will rename index "audit_log_id_key" to "audit_log_pkey"
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY USING INDEX audit_log_id_key;
