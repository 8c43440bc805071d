import * as z from 'zod';

/**
 * The EventBridge events the host-command Lambdas receive. Only the fields we read are required;
 * EventBridge adds others (version, id, account, region, resources), which are let through.
 */

/** SSM's "EC2 Command Invocation Status-change Notification" (source aws.ssm), one per host. */
export const SsmInvocationEvent = z.looseObject({
  source: z.literal('aws.ssm'),
  'detail-type': z.literal('EC2 Command Invocation Status-change Notification'),
  detail: z.looseObject({
    'command-id': z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
    'instance-id': z.string().min(1).max(256),
    status: z.string().min(1).max(64),
  }),
});
export type SsmInvocationEvent = z.infer<typeof SsmInvocationEvent>;

/** The reconciliation schedule's tick (an EventBridge schedule rule). */
export const ScheduledEvent = z.looseObject({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
});

/** "Step Functions Execution Status Change" (source aws.states). */
export const ExecutionStatusEvent = z.looseObject({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.looseObject({
    executionArn: z.string().min(1).max(2048),
    stateMachineArn: z.string().min(1).max(2048),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
  }),
});
export type ExecutionStatusEvent = z.infer<typeof ExecutionStatusEvent>;

/** The execution statuses no Catch block handles, whose commands and locks need cleaning up. */
export const ENDED_FROM_OUTSIDE = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;
