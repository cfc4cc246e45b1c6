-- corpus: dangerous prefer-identity
-- setup: existing
-- observe: catalog (SELECT attidentity = '' FROM pg_attribute WHERE attrelid = 'tags'::regclass AND attname = 'id')
-- observe: catalog (SELECT pg_get_expr(adbin, adrelid) LIKE 'nextval(%' FROM pg_attrdef WHERE adrelid = 'tags'::regclass)
CREATE TABLE tags (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);
