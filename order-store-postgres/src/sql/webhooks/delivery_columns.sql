-- A delivery's columns.
select id, subscription_id, message_id, event_type, position, headers::text as headers,
       body, state, attempts, next_attempt_at, give_up_at, last_status, last_error, created_at
  from webhook_deliveries
