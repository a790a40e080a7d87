-- Marks events published, by position.
update outbox_events
   set published_at = now()
 where position = any ($1::bigint[]) and position is not null and published_at is null
