-- A stock effect on its own, for `PgInventory` (stock kept behind the
-- `Inventory` port rather than in the order's own write): the values the
-- effect (`reserve.sql`, `commit.sql`, `release.sql` or `restock.sql`, which
-- follows, then `../written.sql`) reads, for an order named by id instead of
-- one just written.
with input as (
    select
        $1::uuid            as id,
        $2::text[]          as stock_sku,
        $3::integer[]       as stock_quantity,
        $4::timestamptz     as reserve_until,
        $5::text            as restock_key
),
ord as (
    select id from input
),
