-- The shared "existing" schema every corpus file runs against: small, but every table has rows.

CREATE SCHEMA archive;

CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped');

CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku varchar(50) NOT NULL,
    title text NOT NULL,
    price_cents integer NOT NULL,
    stock integer,
    description text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id integer PRIMARY KEY,
    email varchar(50) NOT NULL,
    name text NOT NULL,
    external_ref text NOT NULL
);
CREATE INDEX customers_email_idx ON customers (email);

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id bigint NOT NULL,
    customer_id integer NOT NULL,
    status order_status NOT NULL DEFAULT 'pending',
    quantity integer CHECK (quantity > 0),
    note varchar(50),
    placed_at timestamp NOT NULL DEFAULT localtimestamp
);
CREATE INDEX orders_placed_at_idx ON orders (placed_at);

CREATE TABLE audit_log (
    id bigint,
    message text NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO items (sku, title, price_cents, stock, description)
SELECT format('SKU-%s', lpad(n::text, 5, '0')),
       format('Item %s', n),
       100 + (n * 37) % 9900,
       (n * 13) % 250,
       CASE WHEN n % 3 = 0 THEN NULL ELSE format('Description of item %s', n) END
FROM generate_series(1, 2000) AS n;

INSERT INTO customers (id, email, name, external_ref)
SELECT n, format('customer%s@example.com', n), format('Customer %s', n), (100000 + n)::text
FROM generate_series(1, 500) AS n;

INSERT INTO orders (item_id, customer_id, status, quantity, note, placed_at)
SELECT 1 + (n * 7) % 2000,
       1 + (n * 11) % 500,
       (ARRAY['pending', 'paid', 'shipped'])[1 + n % 3]::order_status,
       1 + n % 5,
       CASE WHEN n % 4 = 0 THEN NULL ELSE format('note %s', n) END,
       timestamp '2024-01-01' + n * interval '1 hour'
FROM generate_series(1, 3000) AS n;

INSERT INTO audit_log (id, message)
SELECT n, format('event %s', n)
FROM generate_series(1, 1000) AS n;

ANALYZE;
