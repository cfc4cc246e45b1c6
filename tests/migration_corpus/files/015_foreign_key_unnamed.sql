-- corpus: dangerous constraint-not-valid-missing
-- setup: existing
-- observe: scan public.orders
-- observe: lock ShareRowExclusiveLock public.orders
-- observe: lock ShareRowExclusiveLock public.customers
alter table orders add foreign key (customer_id) references customers;
