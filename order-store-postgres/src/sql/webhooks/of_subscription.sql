
 where subscription_id = $1::uuid and ($2::text is null or state = $2::text)
 order by position desc, id desc
 limit $3::bigint
