-- Validates the rules migration 0013 added NOT VALID. In a transaction of
-- its own, `validate constraint` reads the table under a SHARE UPDATE
-- EXCLUSIVE lock, so orders are placed and changed while it runs; a row
-- that breaks a rule (written by hand past the old CHECKs' removal) fails
-- the migration and names the constraint.
alter table orders validate constraint orders_row;
alter table order_lines validate constraint order_lines_row;
alter table payment_entries validate constraint payment_entries_row;
