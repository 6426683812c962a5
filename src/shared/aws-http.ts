/**
 * HTTP settings for every AWS SDK client the services create (DynamoDB, Secrets Manager). A store
 * that accepts the connection and then says nothing must become a quick 503, not a request that
 * hangs until Lambda ends the invocation: the SDK's `requestTimeout` alone only logs a warning,
 * so `throwOnRequestTimeout` makes it fail the call (the SDK then retries, within `maxAttempts`).
 */
export const awsHttpTimeouts = {
  connectionTimeout: 1_000,
  requestTimeout: 3_000,
  throwOnRequestTimeout: true,
} as const;
