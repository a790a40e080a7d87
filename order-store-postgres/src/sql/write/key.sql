
-- The idempotency key the change completes, with the change.
key_completed as (
    update idempotency_keys k
       set state = 'completed', order_id = ord.id, completed_at = now()
      from ord, input
     where k.key = input.idempotency_key and k.state = 'in_flight'
),
