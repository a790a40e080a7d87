 where o.number = $1::text
