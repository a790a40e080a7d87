-- The engine's bounds on money (ADR 0006), kept by the database too:
-- * a unit price is greater than zero and at most 10^12 (`Money::MAX_UNIT_PRICE`);
-- * every line and order amount, and so every payment and refund, is at
--   most 10^14 (`Money::MAX_AMOUNT`).
-- order-core refuses anything beyond them before a store is called, so these
-- CHECKs only catch a bug or a writer other than this crate. The numeric(24, 4)
-- columns hold every value within the bounds (15 integer digits of 20, the
-- finest currency's 4 decimals).
--
-- NOT VALID: rows written before this migration are not re-read (the old
-- CHECKs allowed a price of zero); every row written from now on is checked.
-- Once old rows are known to be within the bounds, an operator may run
-- `alter table … validate constraint …` for each constraint below.
--
-- Stock needs nothing new: `on_hand` is an `integer`, and the engine's bound
-- (`StockLevel::MAX_ON_HAND`) is the largest integer.

alter table products
    add constraint products_unit_price_bounds
        check (unit_price > 0 and unit_price <= 1000000000000) not valid;

alter table orders
    add constraint orders_amount_bounds
        check (subtotal <= 100000000000000 and discount <= 100000000000000
               and tax <= 100000000000000 and shipping <= 100000000000000
               and total <= 100000000000000) not valid;

alter table order_lines
    add constraint order_lines_amount_bounds
        check (unit_price <= 1000000000000
               and subtotal <= 100000000000000 and discount <= 100000000000000
               and tax <= 100000000000000 and total <= 100000000000000) not valid;

alter table payment_entries
    add constraint payment_entries_amount_bounds
        check (amount <= 100000000000000) not valid;

alter table returns
    add constraint returns_refund_amount_bounds
        check (refund_amount <= 100000000000000) not valid;
