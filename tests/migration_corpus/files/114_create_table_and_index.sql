-- corpus: safe
-- setup: existing
-- observe: no-lock ShareLock *
-- observe: no-lock AccessExclusiveLock *
-- observe: no-scan *
-- observe: catalog to_regclass('public.promotions_code_idx') IS NOT NULL
CREATE TABLE promotions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL,
    starts_at timestamptz NOT NULL
);
CREATE INDEX promotions_code_idx ON promotions (code);
