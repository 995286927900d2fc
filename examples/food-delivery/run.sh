#!/usr/bin/env bash
# The food-delivery example, end to end, against a running broker
# (`scripts/run` in another terminal). See README.md.
#
# Environment: SY_ENDPOINT (http://127.0.0.1:4566), SY_WORKER_ENDPOINT
# (tcp://127.0.0.1:4567), SWITCHYARD (the binary; default build-release/ or
# build/ of this checkout), FOOD_HANDLERS_SO (libfooddelivery.so next to it),
# RUN_ID (suffix of the order ids; default: the time), SY_ACCOUNT_ID, AWS_REGION,
# WORKFLOW (the definition file: order-workflow.asl.json, or the JSONata
# variant order-workflow.jsonata.asl.json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

export SY_ENDPOINT=${SY_ENDPOINT:-http://127.0.0.1:4566}
worker_endpoint=${SY_WORKER_ENDPOINT:-tcp://127.0.0.1:4567}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1} AWS_PAGER=""
export SY_ACCOUNT_ID=${SY_ACCOUNT_ID:-000000000000}
region=$AWS_REGION account=$SY_ACCOUNT_ID
run=${RUN_ID:-$(date +%s)}
workflow=$here/${WORKFLOW:-order-workflow.asl.json}

if [ -z "${SWITCHYARD:-}" ]; then
  for d in build-release build; do
    if [ -x "$root/$d/switchyard" ]; then SWITCHYARD=$root/$d/switchyard; break; fi
  done
fi
SWITCHYARD=${SWITCHYARD:?build Switchyard first (scripts/run does)}
so=${FOOD_HANDLERS_SO:-$(dirname "$SWITCHYARD")/examples/food-delivery/libfooddelivery.so}
[ -f "$so" ] || { echo "missing $so: build the tree (cmake --build ...)" >&2; exit 1; }

aws () { command aws --endpoint-url "$SY_ENDPOINT" --output json "$@"; }
step () { printf '\n== %s\n' "$*"; }
queue_url () { echo "$SY_ENDPOINT/$account/$1"; }
queue_arn () { echo "arn:aws:sqs:$region:$account:$1"; }
fn_arn () { echo "arn:aws:lambda:$region:$account:function:$1"; }

# ---------------------------------------------------------------- worker
step "starting a worker with the 7 functions (5 C handlers, 2 shell custom-runtime handlers)"
log=$(mktemp /tmp/food-delivery-worker.XXXXXX.log)
bootstrap=$here/runtime/bootstrap
"$SWITCHYARD" worker --broker "$worker_endpoint" --concurrency 2 \
  --function "accept-order=runtime:$bootstrap,handler=orders.accept,timeout=15" \
  --function "publish-event=runtime:$bootstrap,handler=orders.publish,timeout=5" \
  --function "charge-payment=so:$so:charge_payment" \
  --function "notify-restaurant=so:$so:notify_restaurant" \
  --function "dispatch-courier=so:$so:dispatch_courier" \
  --function "refund-payment=so:$so:refund_payment" \
  --function "cancel-restaurant=so:$so:cancel_restaurant" \
  2>"$log" &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null; echo "(worker stopped; its log: $log)"' EXIT
echo "worker pid $worker, log $log"

# ---------------------------------------------------------------- resources
step "queues: orders (+ orders-dlq), notifications, analytics"
aws sqs create-queue --queue-name orders-dlq >/dev/null
aws sqs create-queue --queue-name orders --attributes "$(jq -cn --arg dlq "$(queue_arn orders-dlq)" \
  '{VisibilityTimeout: "15", RedrivePolicy: ({deadLetterTargetArn: $dlq, maxReceiveCount: "1"}|tojson)}')" >/dev/null
aws sqs create-queue --queue-name notifications >/dev/null
aws sqs create-queue --queue-name analytics >/dev/null

step "functions (the code is the worker's; the API holds the configuration)"
# name:timeout:handler — the Handler reaches the runtime as _HANDLER (orders.accept: orders.sh's accept)
for f in accept-order:15:orders.accept publish-event:5:orders.publish charge-payment:3:charge_payment \
         notify-restaurant:3:notify_restaurant dispatch-courier:3:dispatch_courier \
         refund-payment:3:refund_payment cancel-restaurant:3:cancel_restaurant; do
  name=${f%%:*} rest=${f#*:}
  timeout=${rest%%:*} handler=${rest#*:}
  aws lambda create-function --function-name "$name" --timeout "$timeout" --runtime provided.al2023 \
    --role "arn:aws:iam::$account:role/food-delivery" --handler "$handler" \
    --zip-file fileb://"$here/order-workflow.asl.json" >/dev/null 2>&1 ||
    aws lambda update-function-configuration --function-name "$name" --timeout "$timeout" \
      --handler "$handler" >/dev/null
done

step "state machine order-workflow (STANDARD)"
sm=$(aws stepfunctions create-state-machine --name order-workflow --type STANDARD \
       --role-arn "arn:aws:iam::$account:role/food-delivery" \
       --definition "file://$workflow" --query stateMachineArn --output text 2>/dev/null) || {
  sm="arn:aws:states:$region:$account:stateMachine:order-workflow"
  aws stepfunctions update-state-machine --state-machine-arn "$sm" \
    --definition "file://$workflow" >/dev/null
}
echo "$sm"

step "event-source mapping: orders -> accept-order"
if [ "$(aws lambda list-event-source-mappings --function-name accept-order \
          --event-source-arn "$(queue_arn orders)" --query 'length(EventSourceMappings)')" = 0 ]; then
  aws lambda create-event-source-mapping --function-name accept-order --event-source-arn "$(queue_arn orders)" \
    --batch-size 10 --function-response-types ReportBatchItemFailures --query UUID --output text
fi

step "EventBridge rules: OrderDelivered / OrderCancelled -> notifications, everything -> analytics"
aws events put-rule --name notify-delivered --event-pattern \
  '{"source": ["food.delivery"], "detail-type": ["OrderDelivered"]}' >/dev/null
aws events put-targets --rule notify-delivered --targets "$(jq -cn --arg arn "$(queue_arn notifications)" '[{
  Id: "sms", Arn: $arn, InputTransformer: {
    InputPathsMap: {order: "$.detail.order_id", name: "$.detail.customer.name", phone: "$.detail.customer.phone",
                    how: "$.detail.fulfilment"},
    InputTemplate: "{\"channel\": \"sms\", \"to\": <phone>, \"order\": <order>, \"text\": \"Hi <name>, order <order> is yours (<how>). Enjoy!\"}"}}]')" >/dev/null
aws events put-rule --name notify-cancelled --event-pattern \
  '{"source": ["food.delivery"], "detail-type": ["OrderCancelled"]}' >/dev/null
aws events put-targets --rule notify-cancelled --targets "$(jq -cn --arg arn "$(queue_arn notifications)" '[{
  Id: "sms", Arn: $arn, InputTransformer: {
    InputPathsMap: {order: "$.detail.order_id", name: "$.detail.customer.name", phone: "$.detail.customer.phone",
                    reason: "$.detail.reason", refund: "$.detail.refund_id"},
    InputTemplate: "{\"channel\": \"sms\", \"to\": <phone>, \"order\": <order>, \"text\": \"Sorry <name>, order <order> was cancelled (<reason>). Refund <refund> is on its way.\"}"}}]')" >/dev/null
aws events put-rule --name order-analytics --event-pattern \
  '{"source": ["food.delivery"], "detail-type": [{"prefix": "Order"}]}' >/dev/null
aws events put-targets --rule order-analytics --targets "$(jq -cn --arg arn "$(queue_arn analytics)" '[{
  Id: "warehouse", Arn: $arn, InputTransformer: {
    InputPathsMap: {order: "$.detail.order_id", outcome: "$.detail-type", total: "$.detail.total", at: "$.time"},
    InputTemplate: "{\"order\": <order>, \"outcome\": <outcome>, \"total\": <total>, \"at\": <at>}"}}]')" >/dev/null

# ---------------------------------------------------------------- orders
step "sending 4 orders (run $run)"
order () { # id name phone fulfilment zone card total
  jq -cn --arg id "$1" --arg name "$2" --arg phone "$3" --arg f "$4" --arg zone "$5" --arg card "$6" \
    --argjson total "$7" '{order_id: $id, customer: {name: $name, phone: $phone}, restaurant: "Pizza Roma",
      items: [{sku: "margherita", qty: 2}], total: $total, fulfilment: $f,
      address: {zone: $zone, street: "1 Main St"}, card: $card}'
}
send () { aws sqs send-message --queue-url "$(queue_url orders)" --message-body "$1" --query MessageId --output text; }
ok=ord-$run-ok flaky=ord-$run-flaky nocourier=ord-$run-nocourier
send "$(order "$ok" Ada +15550101 delivery centre tok_visa 24.5)"              # delivered
send "$(order "$flaky" Grace +15550102 pickup centre tok_flaky 12)"            # payment retried twice
send "$(order "$nocourier" Linus +15550103 delivery suburbs tok_visa 31.25)"   # compensated
send '{"order_id": "ord-'"$run"'-bad", "items": []}'                           # invalid: orders-dlq

# ---------------------------------------------------------------- outcome
step "waiting for the executions"
exec_arn () { echo "arn:aws:states:$region:$account:execution:order-workflow:$1"; }
for id in $ok $flaky $nocourier; do
  for _ in $(seq 1 120); do
    st=$(aws stepfunctions describe-execution --execution-arn "$(exec_arn "$id")" \
           --query status --output text 2>/dev/null || echo PENDING)
    [ "$st" = PENDING ] || [ "$st" = RUNNING ] || break
    sleep 0.5
  done
  aws stepfunctions describe-execution --execution-arn "$(exec_arn "$id")" \
    --query '{order: name, status: status, error: error, cause: cause}' --output table
done

step "what happened to $flaky (charge-payment attempts) and $nocourier (compensation)"
for id in $flaky $nocourier; do
  echo "$id:"
  aws stepfunctions get-execution-history --execution-arn "$(exec_arn "$id")" --query 'events[]' |
    jq -r '.[] | select(.type == "TaskStateEntered" or .type == "LambdaFunctionFailed" or .type == "TaskFailed"
                       or .type == "ExecutionFailed" or .type == "ExecutionSucceeded")
           | "  \(.type) \(.stateEnteredEventDetails.name // .lambdaFunctionFailedEventDetails.error // .taskFailedEventDetails.error // .executionFailedEventDetails.error // "")"'
done

drain () { # queue count [polls]: print and delete what is there
  local url msgs n=0
  url=$(queue_url "$1")
  for _ in $(seq 1 "${3:-10}"); do
    msgs=$(aws sqs receive-message --queue-url "$url" --max-number-of-messages 10 --wait-time-seconds 1)
    [ -n "$msgs" ] || { [ $n -gt 0 ] && break; continue; }
    jq -c '.Messages[].Body | fromjson? // .' <<<"$msgs"
    jq -r '.Messages[].ReceiptHandle' <<<"$msgs" | while read -r rh; do
      aws sqs delete-message --queue-url "$url" --receipt-handle "$rh"; done
    n=$((n + $(jq '.Messages | length' <<<"$msgs")))
    [ $n -lt "$2" ] || break
  done
}
step "notifications queue"
drain notifications 3
step "analytics queue"
drain analytics 3
step "orders-dlq (invalid orders; they arrive after the orders queue's 15 s visibility timeout)"
drain orders-dlq 1 30
