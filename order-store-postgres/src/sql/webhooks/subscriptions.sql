-- Every subscription, oldest first.
select id, url, event_types, secret, created_at
  from webhook_subscriptions
 order by created_at, id
