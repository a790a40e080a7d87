
-- The change's new payment ledger entries.
payments_added as (
    insert into payment_entries (id, order_id, position, kind, amount, reference,
                                 idempotency_key, reason, return_id, at)
    select p.id, ord.id, p.position, p.kind, p.amount, p.reference, p.idempotency_key,
           p.reason, p.return_id, p.at
      from ord, input,
           unnest(input.payment_id, input.payment_position, input.payment_kind,
                  input.payment_amount, input.payment_reference,
                  input.payment_idempotency_key, input.payment_reason,
                  input.payment_return_id, input.payment_at)
           as p(id, position, kind, amount, reference, idempotency_key, reason, return_id, at)
),
