import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { HostOperationName } from '../../shared/operations.ts';
import type { OperationContext } from './context.ts';

/** A tree of config.mounts: `koji`, `compose`, `staging`, `production`. */
export type TreeName = keyof ReleaseConfig['mounts'];

/**
 * One compose-host operation. `run` returns the summary that becomes the --json result; its
 * context's options are typed from the operation's catalogue entry.
 */
export interface HostOperation<K extends HostOperationName = HostOperationName> {
  name: K;
  /**
   * The trees it reads or writes (the locks live in the compose tree). When the config says
   * the trees must be mounts, the run refuses to start unless each of these is one.
   */
  trees: readonly TreeName[];
  run(ctx: OperationContext<K>): Promise<Record<string, unknown>>;
  /** Text-mode lines for the result (doctor's table); without it the text is `NAME: ok`. */
  format?(result: Record<string, unknown>): string[];
}

/** What `releng-host … --json` prints as its last line (bounded; see result.ts). */
export interface OperationResult {
  operation: HostOperationName;
  ok: boolean;
  dryRun: boolean;
  /** The plan (dry-run) or the steps and commands that ran. */
  plan: string[];
  log?: string;
  /** The whole result as JSON on the host, when stdout carries only a bounded summary of it. */
  resultFile?: string;
  /** True when stdout's line left something out that the result file has. */
  truncated?: boolean;
  error?: string;
  [summary: string]: unknown;
}
