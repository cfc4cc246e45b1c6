-- corpus: dangerous unique-without-index
-- setup: existing
-- observe: scan public.audit_log
-- observe: lock AccessExclusiveLock public.audit_log
ALTER TABLE audit_log ADD PRIMARY KEY (id);
