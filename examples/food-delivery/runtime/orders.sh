# Handlers of the food-delivery example for the tutorial's `bootstrap`
# (sourced once at init; _HANDLER=orders.accept or orders.publish picks the
# function). Each handler gets the event as $1 and writes its result to
# stdout; logs go to stderr. Like any Lambda function they call the AWS APIs
# -- here with curl's SigV4 signing, no SDK needed -- at the endpoint in
# SY_ENDPOINT, with the worker's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.

ENDPOINT="${SY_ENDPOINT:-http://127.0.0.1:4566}"
REGION="${AWS_REGION:-us-east-1}"
ACCOUNT="${SY_ACCOUNT_ID:-000000000000}"
WORKFLOW_ARN="${ORDER_WORKFLOW_ARN:-arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:order-workflow}"

# aws_json SERVICE TARGET JSON-VERSION BODY: one signed AWS JSON-protocol call.
aws_json () {
  curl -sS --fail-with-body --max-time 5 \
    --aws-sigv4 "aws:amz:${REGION}:$1" --user "${AWS_ACCESS_KEY_ID:-test}:${AWS_SECRET_ACCESS_KEY:-test}" \
    -H "X-Amz-Target: $2" -H "Content-Type: application/x-amz-json-$3" \
    --data-binary "$4" "${ENDPOINT}/"
}

# accept-order: fed by the SQS event-source mapping of the `orders` queue
# (ReportBatchItemFailures). Validates each order and starts one execution of
# the order workflow named after the order id (a redelivered message finds
# the execution already there: ExecutionAlreadyExists counts as done).
# Invalid orders are reported as failed items: the queue's redrive policy
# moves them to orders-dlq.
function accept () {
  local failures="[]" rec msg_id body id req out
  while IFS= read -r rec; do
    msg_id=$(jq -r .messageId <<<"$rec")
    body=$(jq -r .body <<<"$rec")
    if ! jq -e '(.order_id|type=="string") and (.items|type=="array" and length>0) and (.total|type=="number" and .>0)
               and (.fulfilment=="delivery" or .fulfilment=="pickup")' <<<"$body" >/dev/null 2>&1; then
      echo "rejected invalid order in message $msg_id" >&2
      failures=$(jq -c --arg id "$msg_id" '. + [{itemIdentifier: $id}]' <<<"$failures")
      continue
    fi
    id=$(jq -r .order_id <<<"$body")
    req=$(jq -cn --arg sm "$WORKFLOW_ARN" --arg name "$id" --arg input "$body" \
          '{stateMachineArn: $sm, name: $name, input: $input}')
    if out=$(aws_json states AWSStepFunctions.StartExecution 1.0 "$req" 2>&1) \
       || grep -q ExecutionAlreadyExists <<<"$out"; then
      echo "order $id: workflow started" >&2
    else
      echo "order $id: could not start the workflow: $out" >&2
      failures=$(jq -c --arg id "$msg_id" '. + [{itemIdentifier: $id}]' <<<"$failures")
    fi
  done < <(jq -c '.Records[]' <<<"$1")
  jq -cn --argjson f "$failures" '{batchItemFailures: $f}'
}

# publish-event: called by the workflow's Publish* states with
# {"detail-type": ..., "detail": {...}}; puts it on the default event bus as
# source "food.delivery". The rules route it from there.
function publish () {
  local req out
  req=$(jq -c '{Entries: [{Source: "food.delivery", DetailType: .["detail-type"],
                          Detail: (.detail|tojson)}]}' <<<"$1")
  if out=$(aws_json events AWSEvents.PutEvents 1.1 "$req" 2>&1) && [ "$(jq .FailedEntryCount <<<"$out")" = 0 ]; then
    echo "published $(jq -r '.["detail-type"]' <<<"$1") for $(jq -r .detail.order_id <<<"$1")" >&2
    jq -c '{published: .Entries[0].EventId}' <<<"$out"
  else
    echo "PutEvents failed: $out" >&2
    return 1 # the tutorial bootstrap exits: the task fails with Runtime.ExitError and is retried
  fi
}
