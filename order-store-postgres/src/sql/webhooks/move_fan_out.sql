-- Moves the fan-out position, only from the one the caller read.
update webhook_fan_out set position = $2::bigint where id = 1 and position = $1::bigint
