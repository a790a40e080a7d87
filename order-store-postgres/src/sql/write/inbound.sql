
-- The inbound event the change processes, recorded with it (a second
-- record of it fails on `processed_inbound_events_pkey`).
inbound_recorded as (
    insert into processed_inbound_events (event_id, order_id, processed_at)
    select input.inbound_event, ord.id, now()
      from ord, input
     where input.inbound_event is not null
),
