 where o.id = $1::uuid
