import { parse, UsageError } from '../args.ts';
import { runDemo } from '../demo/demo.ts';
import type { Output } from '../output.ts';
import { progressPrinter } from './session.ts';

/** `releng demo [--root DIR] [--release 8.10] [--yes] [--json]`: one full updates cycle, locally. */
export async function demoCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {
    root: { type: 'string', default: '.releng' },
    release: { type: 'string' },
    yes: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  });
  if (values.release !== undefined && !/^[0-9]{1,3}\.[0-9]{1,3}$/.test(values.release)) {
    throw new UsageError(`--release ${JSON.stringify(values.release)}: expected MAJOR.MINOR, e.g. 8.10`);
  }
  const print = values.json ? out.error : out.line;
  if (!values.yes)
    print(
      'releng demo: the promotion will wait for approval; run `releng approvals` and `releng approve ID` in another terminal (or rerun with --yes)',
    );
  const result = await runDemo({
    root: values.root,
    ...(values.release ? { release: values.release } : {}),
    yes: values.yes,
    listener: progressPrinter(out, values.json, !values.quiet, values.yes),
    stopOnInterrupt: true,
  });
  if (values.json) {
    out.json(result);
  } else {
    out.line('');
    out.line(`compose      ${result.composeId ?? '(none)'}`);
    out.line(`staging      ${result.stagingDir}`);
    out.line(`production   ${result.productionDir}`);
    out.line(`signing key  ${result.gpgPublicKey}`);
    out.line(`advisories   ${result.advisories.join(', ') || '(none)'}`);
    for (const e of result.executions) {
      out.line(
        `  ${e.status.padEnd(9)} ${e.stateMachine.padEnd(13)} ${e.name} (${e.seconds} s)${e.error ? `  ${e.failedState ?? ''} ${e.error}` : ''}`,
      );
    }
    if (!result.published) out.line('demo: nothing was published to production (rejected, or a step failed)');
    out.line(
      result.ok
        ? 'demo: every execution succeeded'
        : 'demo: an execution did not succeed; see releng status and releng history',
    );
  }
  return result.ok ? 0 : 1;
}
