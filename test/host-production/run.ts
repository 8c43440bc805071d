import { createContext, type OperationContext } from '../../host/framework/context.ts';
import type { HostOperation } from '../../host/framework/operation.ts';
import { parseOperationArgs } from '../../host/framework/options.ts';
import { buildConfig } from '../../shared/config/load.ts';
import type { HostOperationName } from '../../shared/operations.ts';

/** Runs one operation in-process the way `releng-host` does, with a context we can inspect. */
export async function runOperation(
  operation: HostOperation,
  root: string,
  args: string[],
  overrides: Record<string, unknown> = {},
  onProgress?: (line: string) => void,
): Promise<{ result: Record<string, unknown>; ctx: OperationContext; progress: string[] }> {
  const name: HostOperationName = operation.name;
  const options = parseOperationArgs(name, ['--root', root, ...args]);
  const progress: string[] = [];
  const ctx = createContext({
    operation: name,
    config: buildConfig(overrides),
    root,
    dryRun: options['dry-run'] === true,
    options,
    clock: { now: () => new Date() },
    progress: (line) => {
      progress.push(line);
      onProgress?.(line);
    },
  });
  const result = await operation.run(ctx);
  return { result, ctx, progress };
}
