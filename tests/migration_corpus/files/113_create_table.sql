-- corpus: safe
-- setup: existing
-- The foreign key takes a brief SHARE ROW EXCLUSIVE lock on items (its triggers), no scan.
-- observe: no-scan *
-- observe: no-rewrite *
-- observe: no-lock AccessExclusiveLock *
-- observe: no-lock ShareLock *
-- observe: catalog to_regclass('public.reviews') IS NOT NULL
CREATE TABLE reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES items (id),
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body text,
    created_at timestamptz NOT NULL DEFAULT now()
);
