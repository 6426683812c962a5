/**
 * How Lambda feeds the projector from the events table's stream: the QueryStack's event source
 * mapping, and the local rehearsal's poller, which plays it (tools/rehearsal/poller.ts), read
 * these, so the rehearsal gives up on a record exactly when AWS would.
 */
export const projectorEventSource = {
  /** Commits are small and each applies in its own transaction: 100 keeps an invocation well inside its timeout. */
  batchSize: 100,
  /** Retries of a failing batch before its description goes to the on-failure queue. */
  retryAttempts: 10,
  /** What an operator sends the projector function to repair the projection after that (DEPLOY.md, "Operating"). */
  catchUpPayload: { catchUp: 'all' },
} as const;

/** The AWS CLI command that sends the catch-up to the projector function. */
export const catchUpCommand = (functionName: string): string =>
  `aws lambda invoke --function-name ${functionName} --cli-binary-format raw-in-base64-out --payload '${JSON.stringify(projectorEventSource.catchUpPayload)}' catch-up.json`;
