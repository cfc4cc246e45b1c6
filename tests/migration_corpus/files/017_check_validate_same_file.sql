-- corpus: dangerous validate-same-transaction
-- setup: existing
-- observe@1: no-scan public.items
-- observe@2: scan public.items
-- observe@2: lock AccessExclusiveLock public.items
ALTER TABLE items ADD CONSTRAINT items_price_positive CHECK (price_cents > 0) NOT VALID;
ALTER TABLE items VALIDATE CONSTRAINT items_price_positive;
