-- corpus: dangerous prefer-identity
-- setup: existing
-- observe: catalog pg_get_serial_sequence('item_events', 'position') IS NOT NULL
-- observe: catalog (SELECT attidentity = '' FROM pg_attribute WHERE attrelid = 'item_events'::regclass AND attname = 'position')
CREATE TABLE item_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position serial8 NOT NULL,
    happened_at timestamptz NOT NULL DEFAULT now()
);
