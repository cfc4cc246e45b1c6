-- corpus: dangerous prefer-timestamptz
-- setup: existing
-- observe: catalog (SELECT atttypid = 'timestamp'::regtype FROM pg_attribute WHERE attrelid = 'shipments'::regclass AND attname = 'shipped_at')
CREATE TABLE shipments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipped_at timestamp NOT NULL
);
