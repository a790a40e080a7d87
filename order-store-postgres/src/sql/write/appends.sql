
-- What every write appends, after `insert.sql` or `update.sql`.

-- Append-only: the change's history entries, payment entries and events.
history_added as (
    insert into order_status_history (order_id, sequence, from_status, to_status, reason,
                                      actor, at)
    select ord.id, h.sequence, h.from_status, h.to_status, h.reason, h.actor, h.at
      from ord, input,
           unnest(input.history_sequence, input.history_from_status, input.history_to_status,
                  input.history_reason, input.history_actor, input.history_at)
           as h(sequence, from_status, to_status, reason, actor, at)
),
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
events_added as (
    -- The global position is given after commit, by the sequencer.
    insert into outbox_events (id, order_id, sequence, event_type, occurred_at, actor, payload)
    select e.id, ord.id, e.sequence, e.event_type, e.occurred_at, e.actor, e.payload
      from ord, input,
           unnest(input.event_id, input.event_sequence, input.event_type,
                  input.event_occurred_at, input.event_actor, input.event_payload)
           as e(id, sequence, event_type, occurred_at, actor, payload)
),

-- The idempotency key completes, and the inbound event is recorded, with the
-- change.
key_completed as (
    update idempotency_keys k
       set state = 'completed', order_id = ord.id, completed_at = now()
      from ord, input
     where k.key = input.idempotency_key and k.state = 'in_flight'
),
inbound_recorded as (
    insert into processed_inbound_events (event_id, order_id, processed_at)
    select input.inbound_event, ord.id, now()
      from ord, input
     where input.inbound_event is not null
),
