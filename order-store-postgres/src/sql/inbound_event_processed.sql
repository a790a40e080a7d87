-- Whether a committed change processed this inbound event.
select exists (select from processed_inbound_events where event_id = $1::text)
