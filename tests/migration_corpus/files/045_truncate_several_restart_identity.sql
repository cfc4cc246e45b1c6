-- corpus: dangerous data-destructive
-- setup: existing
-- observe: rewrite public.orders
-- observe: rewrite public.audit_log
-- observe: catalog NOT EXISTS (SELECT 1 FROM orders) AND NOT EXISTS (SELECT 1 FROM audit_log)
TRUNCATE TABLE ONLY orders, audit_log RESTART IDENTITY CASCADE;
