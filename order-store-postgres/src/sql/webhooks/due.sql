
 where state = 'pending' and next_attempt_at <= $1::timestamptz
 order by position, id
 limit $2::bigint
