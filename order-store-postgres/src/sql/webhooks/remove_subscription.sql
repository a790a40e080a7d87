-- A subscription; its deliveries and their attempts go by cascade.
delete from webhook_subscriptions where id = $1::uuid
