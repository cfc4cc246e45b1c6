-- corpus: dangerous add-column-not-null-no-default
-- setup: existing
-- observe: error 23502
-- observe: catalog NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'weight_grams')
ALTER TABLE items ADD COLUMN weight_grams integer NOT NULL;
