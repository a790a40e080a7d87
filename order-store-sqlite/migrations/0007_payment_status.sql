-- Orders by payment status: the column read from the document (virtual, so
-- every row has it at once and no write changes), and an index that walks
-- one payment status in (created_at, id) order for keyset listing.
alter table orders add column payment_status text
    generated always as (json_extract(document, '$.payment_status')) virtual;

create index orders_payment_status_created on orders (payment_status, created_at, id);
