-- corpus: dangerous client-breaking
-- setup: existing
-- The name is 66 bytes: PostgreSQL keeps the first 63, so the column the code names does not
-- exist under that name in the catalog.
-- observe: notice will be truncated to "preferred_delivery_window_start_time_in_customer_local_timezone"
-- observe: catalog EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attname = 'preferred_delivery_window_start_time_in_customer_local_timezone')
-- observe: catalog NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE column_name::text = 'preferred_delivery_window_start_time_in_customer_local_timezone_v2')
ALTER TABLE customers
    ADD COLUMN preferred_delivery_window_start_time_in_customer_local_timezone_v2 text;
