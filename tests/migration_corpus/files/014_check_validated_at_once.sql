-- corpus: dangerous constraint-not-valid-missing
-- setup: existing
-- observe: scan public.items
-- observe: lock AccessExclusiveLock public.items
ALTER TABLE items ADD CONSTRAINT items_price_positive CHECK (price_cents > 0);
