/**
 * Environment variables cdk/ sets on the Lambdas and functions/ reads. One list, so the two
 * cannot name them differently.
 */
export const LAMBDA_ENV = {
  stage: 'RELENG_STAGE',
  /** JSON of the releng.config.json overrides (small: defaults are bundled with the code). */
  configOverrides: 'RELENG_CONFIG_OVERRIDES',
  composeStateMachineArn: 'COMPOSE_STATE_MACHINE_ARN',
  stagingStateMachineArn: 'STAGING_STATE_MACHINE_ARN',
  promotionStateMachineArn: 'PROMOTION_STATE_MACHINE_ARN',
  /** DynamoDB table holding lane locks, the publish lock, pending approvals and lane state. */
  stateTable: 'STATE_TABLE_NAME',
  notificationTopicArn: 'NOTIFICATION_TOPIC_ARN',
  promotionQueueUrl: 'PROMOTION_QUEUE_URL',
  /**
   * Comma-separated SenderIds promotion-events accepts staging-ready from: the staging state
   * machine's role id (`AROA…`), as SQS reports its sessions.
   */
  pipelineSenderIds: 'PIPELINE_SENDER_IDS',
  /** The koji queue the koji hub poller sends tag changes to. */
  kojiQueueUrl: 'KOJI_QUEUE_URL',
} as const;

export type LambdaEnvKey = keyof typeof LAMBDA_ENV;

/** Reads the named variables, failing with the list of those missing. */
export function readLambdaEnv<K extends LambdaEnvKey>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> {
  const missing = keys.filter((k) => !env[LAMBDA_ENV[k]]).map((k) => LAMBDA_ENV[k]);
  if (missing.length) throw new Error(`missing environment variables: ${missing.join(', ')}`);
  return Object.fromEntries(keys.map((k) => [k, env[LAMBDA_ENV[k]]!])) as Record<K, string>;
}
