-- corpus: safe
-- setup: existing
-- observe: no-lock AccessExclusiveLock *
-- observe: no-lock ShareLock *
-- observe: no-lock ShareRowExclusiveLock *
-- observe: no-scan *
-- observe: catalog to_regclass('public.customer_totals') IS NOT NULL
CREATE VIEW customer_totals AS
SELECT o.customer_id, sum(o.quantity * i.price_cents) AS total_cents
FROM orders AS o
JOIN items AS i ON i.id = o.item_id
GROUP BY o.customer_id;
