-- corpus: dangerous add-column-not-null-no-default
-- setup: existing
-- observe: error 23502
ALTER TABLE customers
    ADD COLUMN tier integer DEFAULT 1,
    ADD COLUMN country char(2) NOT NULL;
