-- The outbox sequencer's lock, held until the end of its transaction.
select pg_advisory_xact_lock($1::bigint)
