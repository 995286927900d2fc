// Test functions for tests/e2e/test_lambda_config.py: they report what
// Lambda gives a function (environment, context, deadline).
const WANTED = [
  "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_EXECUTION_ENV",
  "GREETING", "COLOUR",
];

function report(event, context) {
  const env = {};
  for (const k of WANTED) if (process.env[k] !== undefined) env[k] = process.env[k];
  return {
    env,
    context: {
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      memoryLimitInMB: context.memoryLimitInMB,
      invokedFunctionArn: context.invokedFunctionArn,
      awsRequestId: context.awsRequestId,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
    },
    remaining: context.getRemainingTimeInMillis(),
    pid: process.pid,
    event,
  };
}

exports.handler = async (event, context) => {
  const r = report(event, context);
  console.log("handling", JSON.stringify(event)); // the runtime's log line carries the request id
  // an effect a test can see when no caller gets the result (event-source mappings)
  if (process.env.OUT_DIR) {
    require("fs").writeFileSync(require("path").join(process.env.OUT_DIR, context.awsRequestId + ".json"),
                                JSON.stringify(r));
  }
  if (event && event.sleep_ms) await new Promise((res) => setTimeout(res, event.sleep_ms));
  if (event && event.fail) {
    const e = new Error("failed on purpose");
    e.name = "Custom.Failure";
    throw e;
  }
  return r;
};

// Response streaming (InvokeWithResponseStream): written in three pieces.
exports.streaming = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType("text/plain");
  responseStream.write("hello ");
  await new Promise((res) => setTimeout(res, 50));
  responseStream.write("from ");
  responseStream.write(context.functionName);
  responseStream.end();
});
