-- Whether any committed event still waits for its global position.
select exists (select from outbox_events where position is null)
