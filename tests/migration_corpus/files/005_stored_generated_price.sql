-- corpus: dangerous stored-generated-column
-- setup: existing
-- observe: rewrite public.items
-- observe: lock AccessExclusiveLock public.items
ALTER TABLE items
    ADD COLUMN price_eur numeric(12, 2) GENERATED ALWAYS AS (price_cents / 100.0) STORED;
