import * as z from 'zod';
import { errorMessage } from '../errors.ts';
import {
  checkParam,
  HOST_FIXED_PARAMS,
  type HostOperationName,
  isHostOperation,
  paramsOf,
  ssmParamName,
} from '../operations.ts';

/**
 * What a pipeline hands the host-command Lambda (invoked with .waitForTaskToken) for one
 * releng-host operation: the document to send, where, with which SSM parameters, and the task
 * token the command's completion answers.
 */
export const HostCommandTaskV1 = z.strictObject({
  version: z.literal(1),
  taskToken: z.string().min(1).max(2048),
  operation: z.string().refine(isHostOperation, { message: 'not a releng-host operation' }),
  /** The SSM Command document of that operation (name or ARN). */
  documentName: z.string().regex(/^[A-Za-z0-9_.:/-]{3,256}$/, { message: 'not an SSM document name' }),
  instanceId: z.string().regex(/^[A-Za-z0-9_.:/-]{1,256}$/, { message: 'not an instance id' }),
  /** SSM's shape: camelCase parameter name → one value. */
  parameters: z.record(z.string(), z.array(z.string().max(1024)).max(1)),
  /** `$$.Execution.Id`: whose command it is, for cleanup when that execution is stopped. */
  execution: z.string().min(1).max(2048),
  /** `$$.State.Name`, for the operator reading the command list. */
  state: z.string().min(1).max(256),
  outputLogGroup: z.string().max(512).optional(),
  /** The operation's own time limit: the sweep cancels the command past it. */
  timeoutSeconds: z.number().int().positive(),
});
export type HostCommandTaskV1 = z.infer<typeof HostCommandTaskV1>;

/** What SendTaskSuccess hands the pipeline: the command and releng-host's bounded JSON result. */
export interface HostCommandOutputV1 {
  commandId: string;
  status: 'Success';
  output: Record<string, unknown>;
}

/** Errors the host-command task fails with; the pipelines Catch them by these names. */
export const HOST_COMMAND_ERRORS = {
  failed: 'HostCommandFailed',
  timedOut: 'HostCommandTimedOut',
  rejected: 'HostCommandRejected',
} as const;

export class HostCommandRejectedError extends Error {
  override readonly name = HOST_COMMAND_ERRORS.rejected;
}

/**
 * Checks every parameter against the operation catalogue, the same rules releng-host and the
 * document's allowedPattern apply, so a bad value fails here, named, before anything is sent.
 */
export function checkTaskParameters(
  operation: HostOperationName,
  parameters: Record<string, string[]>,
): void {
  const bySsmName = new Map(paramsOf(operation).map((p) => [ssmParamName(p.name), p]));
  for (const [name, values] of Object.entries(parameters)) {
    const param = bySsmName.get(name);
    if (!param || HOST_FIXED_PARAMS.has(param.name))
      throw new HostCommandRejectedError(`${operation}: unknown parameter ${JSON.stringify(name)}`);
    const value = values[0] ?? '';
    if (param.kind.type === 'flag') {
      if (!['true', 'false', ''].includes(value))
        throw new HostCommandRejectedError(
          `${operation}: --${param.name} ${JSON.stringify(value)} is not true or false`,
        );
      continue;
    }
    if (value === '' && !param.required) continue;
    try {
      checkParam(operation, param, value);
    } catch (err) {
      throw new HostCommandRejectedError(errorMessage(err));
    }
  }
}
