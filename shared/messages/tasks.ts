import * as z from 'zod';
import { ExecutionName } from './fields.ts';
import { StagingReadyV1 } from './promotion.ts';

/**
 * Payloads between the state machines and the Lambdas they invoke. cdk/ builds the task
 * Parameters from these shapes; functions/ validates them on the way in and out.
 */

/** approval-request, invoked with .waitForTaskToken by the promotion state machine. */
export const ApprovalRequestInputV1 = z.strictObject({
  version: z.literal(1),
  taskToken: z.string().min(1).max(2048),
  /** The promotion execution's name: the approval id engineers type. */
  approvalId: ExecutionName,
  request: StagingReadyV1,
});
export type ApprovalRequestInputV1 = z.infer<typeof ApprovalRequestInputV1>;

export const EfsPreflightInputV1 = z.strictObject({
  version: z.literal(1),
  fileSystemIds: z.array(z.string().regex(/^fs-[a-f0-9]{8,17}$/, { message: 'not an EFS id' })).min(1),
});
export type EfsPreflightInputV1 = z.infer<typeof EfsPreflightInputV1>;

export const EfsPreflightOutputV1 = z.strictObject({
  version: z.literal(1),
  fileSystems: z.array(
    z.strictObject({
      id: z.string(),
      lifeCycleState: z.string(),
      sizeBytes: z.number().int().min(0),
      mountTargets: z.number().int().min(0),
    }),
  ),
  /**
   * Seconds since the epoch when the check ran. ASL has no clock arithmetic, so the state
   * machines compute lock expiries from this with States.MathAdd.
   */
  nowEpochSeconds: z.number().int().positive(),
});
export type EfsPreflightOutputV1 = z.infer<typeof EfsPreflightOutputV1>;
