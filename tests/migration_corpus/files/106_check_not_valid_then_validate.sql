-- releaseops:no-transaction
-- corpus: safe
-- setup: existing
-- Two statements, two transactions: the scan runs under SHARE UPDATE EXCLUSIVE only.
-- observe@1: no-scan *
-- observe@2: scan public.items
-- observe@2: lock ShareUpdateExclusiveLock public.items
-- observe@2: no-lock AccessExclusiveLock *
-- observe@2: no-lock ShareLock *
ALTER TABLE items ADD CONSTRAINT items_price_positive CHECK (price_cents > 0) NOT VALID;
ALTER TABLE items VALIDATE CONSTRAINT items_price_positive;
