-- Up to where the feed became deliveries.
select position from webhook_fan_out where id = 1
