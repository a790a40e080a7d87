-- Gives up a claim that wrote nothing.
delete from idempotency_keys where key = $1::text and state = 'in_flight'
