-- corpus: dangerous prefer-bigint-key
-- setup: existing
-- observe: catalog (SELECT atttypid = 'integer'::regtype FROM pg_attribute WHERE attrelid = 'labels'::regclass AND attname = 'id')
CREATE TABLE labels (
    id integer PRIMARY KEY,
    name text NOT NULL
);
