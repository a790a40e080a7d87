-- The engine's bound on unit prices (ADR 0006), kept by the database too: a
-- product's price is greater than zero and at most 10^12
-- (`Money::MAX_UNIT_PRICE`). order-core refuses anything else before a store
-- is called, so these triggers only catch a bug or a writer other than this
-- crate.
--
-- SQLite cannot add a CHECK to an existing table without rebuilding it, so
-- the rule is a pair of triggers. Amounts are decimal text; comparing them as
-- REAL is exact enough here: a price has at most 4 decimals, and near 10^12 a
-- double still tells 10^12 from 10^12 + 0.0001.
--
-- Order amounts live in the order's JSON document and stock units in
-- INTEGER (64-bit) columns: both hold every value within the engine's
-- bounds (`Money::MAX_AMOUNT`, `StockLevel::MAX_ON_HAND`), which order-core
-- and `set_on_hand` enforce.

create trigger products_unit_price_bounds_insert
before insert on products
when not (cast(new.unit_price as real) > 0 and cast(new.unit_price as real) <= 1000000000000)
begin
    select raise(abort, 'products_unit_price_bounds');
end;

create trigger products_unit_price_bounds_update
before update of unit_price on products
when not (cast(new.unit_price as real) > 0 and cast(new.unit_price as real) <= 1000000000000)
begin
    select raise(abort, 'products_unit_price_bounds');
end;
