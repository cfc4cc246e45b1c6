-- corpus: dangerous stored-generated-column
-- setup: existing
-- observe: rewrite public.orders
-- observe: lock AccessExclusiveLock public.orders
ALTER TABLE orders ADD COLUMN note_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(note, ''))) STORED;
