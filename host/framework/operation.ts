import type { HostOperationName } from '../../shared/operations.ts';
import type { OperationContext } from './context.ts';

/** One compose-host operation. `run` returns the summary that becomes the --json result. */
export interface HostOperation {
  name: HostOperationName;
  run(ctx: OperationContext): Promise<Record<string, unknown>>;
}

/** What `releng-host … --json` prints as its last line. */
export interface OperationResult {
  operation: HostOperationName;
  ok: boolean;
  dryRun: boolean;
  /** The plan (dry-run) or the steps and commands that ran. */
  plan: string[];
  log?: string;
  error?: string;
  [summary: string]: unknown;
}
