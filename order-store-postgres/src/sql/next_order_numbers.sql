-- A block of order numbers.
select nextval('order_number_seq') from generate_series(1, $1::integer)
