-- AddPermission statements now live in the queue's Policy attribute, as on
-- AWS (and are enforced when access policies are configured). Fold the ones
-- stored by label in sy_queues.permissions into Policy.
UPDATE sy_queues q
   SET attrs = q.attrs || jsonb_build_object('Policy', jsonb_build_object(
         'Version', '2012-10-17',
         'Id', 'arn:aws:sqs:*:' || q.account || ':' || q.name || '/SQSDefaultPolicy',
         'Statement',
         COALESCE(CASE WHEN jsonb_typeof((q.attrs->>'Policy')::jsonb->'Statement') = 'array'
                       THEN (q.attrs->>'Policy')::jsonb->'Statement' END, '[]'::jsonb)
         || (SELECT jsonb_agg(jsonb_build_object(
                 'Sid', p.key, 'Effect', 'Allow',
                 'Principal', jsonb_build_object('AWS',
                     (SELECT jsonb_agg('arn:aws:iam::' || a || ':root')
                        FROM jsonb_array_elements_text(p.value->'AWSAccountIds') a)),
                 'Action', (SELECT jsonb_agg('SQS:' || x) FROM jsonb_array_elements_text(p.value->'Actions') x),
                 'Resource', 'arn:aws:sqs:*:' || q.account || ':' || q.name))
               FROM jsonb_each(q.permissions) p))::text),
       permissions = '{}'
 WHERE q.permissions <> '{}';
