-- Claims an idempotency key: takes it when new, or when its holder's lease
-- ($4: claimed no later than this) ran out without completing; answers
-- whether it was taken, and what holds it otherwise.
with claim as (
    insert into idempotency_keys (key, fingerprint, state, claimed_at)
    values ($1::text, $2::text, 'in_flight', $3::timestamptz)
    on conflict (key) do update
       set claimed_at = excluded.claimed_at
     where idempotency_keys.state = 'in_flight'
       and idempotency_keys.fingerprint = excluded.fingerprint
       and idempotency_keys.claimed_at <= $4::timestamptz
    returning key
)
select (select count(*) from claim) as claimed, k.fingerprint, k.state, k.order_id
  from (select 1) one
  left join idempotency_keys k on k.key = $1::text
