/**
 * Every AWS call is bounded: a connection and request timeout, and at most 3 attempts with the
 * SDK's standard backoff. A Lambda that hangs on a call would hold its SQS batch invisible.
 * Each adapter module makes its own client from these, so a handler bundles only the SDK
 * clients it uses; handlers make them once, at module scope, never per call.
 */
export const AWS_CALL_LIMITS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
} as const;
