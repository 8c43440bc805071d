import { parse, UsageError } from '../args.ts';
import { DemoRefused, runDemo } from '../demo/demo.ts';
import { EXIT } from '../exit-codes.ts';
import type { Output } from '../output.ts';
import { progressPrinter } from './session.ts';

/** `releng demo [--root DIR] [--release 8.10] [--yes] [--force] [--ga] [--json]`: one full updates (or GA) cycle, locally. */
export async function demoCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {
    root: { type: 'string', default: '.releng' },
    release: { type: 'string' },
    yes: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    ga: { type: 'boolean', default: false },
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
    force: values.force,
    ga: values.ga,
    listener: progressPrinter(out, values.json, !values.quiet, values.yes),
    stopOnInterrupt: true,
  }).catch((err: unknown) => {
    if (err instanceof DemoRefused) throw new UsageError(err.message);
    throw err;
  });
  const failed = result.executions.some((e) => e.status !== 'SUCCEEDED');
  // 3: every execution ended as designed, but nothing reached production (rejected, timed out).
  const code = result.ok ? EXIT.OK : failed || result.published ? EXIT.FAILED : EXIT.NOT_PUBLISHED;
  if (values.json) {
    // A production path is shown only when something was published there.
    out.json({ ...result, productionDir: result.published ? result.productionDir : null });
    return code;
  }
  out.line('');
  out.line(`compose      ${result.composeId ?? '(none)'}`);
  out.line(`staging      ${result.stagingDir}`);
  out.line(`production   ${result.published ? result.productionDir : '(nothing published)'}`);
  out.line(`signing key  ${result.gpgPublicKey}`);
  out.line(`advisories   ${result.advisories.join(', ') || '(none)'}`);
  for (const e of result.executions) {
    out.line(
      `  ${e.outcome.padEnd(13)} ${e.stateMachine.padEnd(13)} ${e.name} (${e.seconds} s)${e.error ? `  ${e.failedState ?? ''} ${e.error}` : ''}`,
    );
    for (const d of e.decisions) {
      out.line(
        `    ${d.outcome} ${d.approvalId} by ${d.decidedBy ?? 'nobody'}: ${d.reason ?? '(no reason given)'}`,
      );
    }
  }
  if (code === EXIT.OK) out.line('demo: every execution succeeded');
  else if (code === EXIT.NOT_PUBLISHED)
    out.line('demo: nothing was published to production (see the decisions above)');
  else out.line('demo: an execution did not succeed; see releng status and releng history');
  return code;
}
