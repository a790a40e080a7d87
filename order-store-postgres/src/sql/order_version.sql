-- The stored version of an order, to tell why a write wrote nothing.
select version from orders where id = $1::uuid
