-- What the write of a change no longer pays for (ADR 0007).

-- Outbox payloads are written once and read a few times. pglz compressed
-- every payload over about 2 kB (an `order.created` is about 3 kB of JSON)
-- on the placement's hot path; lz4 does the same job for about a fifth of
-- the CPU and ten percent more bytes. Values already stored keep their
-- compression. A server built without lz4 keeps pglz.
do $$
begin
    alter table outbox_events alter column payload set compression lz4;
exception when feature_not_supported then
    raise notice 'lz4 is not available: outbox payloads stay pglz-compressed';
end
$$;

-- An order's lines are found by `order_lines_position_key (order_id,
-- position)`, which also gives them in order; a second index on `order_id`
-- alone only cost an index entry (and its WAL) per line written.
drop index order_lines_order_idx;

-- A reservation is only ever written by the store's reserve statement
-- (`src/sql/stock/reserve.sql`), for SKUs it has just found in
-- `stock_levels`, whose rows are never deleted. The foreign key checked that
-- again for every reservation, locking the stock row a second time (a WAL
-- record per SKU held) in the very statement that had locked and updated it.
alter table stock_reservations drop constraint stock_reservations_sku_fkey;
