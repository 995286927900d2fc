# Handler for the tutorial bootstrap (tests): echoes the event, with
# test hooks: an event containing "sleep" sleeps 5 s (timeouts), one
# containing "nap" sleeps 1 s, one
# containing "crash" makes the handler fail, which (set -e) ends bootstrap.
# Test hook: a slow init phase (this file is sourced once, at init).
if [ -n "${SLOW_INIT:-}" ]; then sleep "$SLOW_INIT"; fi

function handler () {
  EVENT_DATA=$1
  case "$EVENT_DATA" in
    *crash*) return 3 ;;
    *sleep*) sleep 5 ;;
    *nap*) sleep 1 ;;
  esac
  RESPONSE="{\"echo\": $EVENT_DATA, \"function\": \"$AWS_LAMBDA_FUNCTION_NAME\", \"pid\": $$}"
  echo $RESPONSE
}
