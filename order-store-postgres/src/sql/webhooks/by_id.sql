
 where id = $1::uuid
