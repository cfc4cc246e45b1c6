-- releaseops:no-transaction
-- corpus: dangerous rewrite-command
-- setup: existing
-- observe: rewrite public.audit_log
VACUUM FULL audit_log;
