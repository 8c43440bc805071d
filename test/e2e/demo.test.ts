import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApollo } from '../../cli/demo/apollo.ts';
import { type DemoResult, runDemo, serveDemoErrata } from '../../cli/demo/demo.ts';
import { engineStateTable } from '../../cli/engine/local-table.ts';
import { main } from '../../cli/main.ts';
import { execFile } from '../../host/framework/exec.ts';
import { PromotionBatchRequestV1 } from '../../shared/messages/promotion.ts';
import { captureOutput as capture } from '../engine/cli-output.ts';
import { dnfClient } from '../support/rpm.ts';

/**
 * The whole pipeline on the embedded engine, as an engineer runs it: `releng demo`, then
 * failures, reruns, a rejection and concurrent composes on the same root, checked with the
 * CLI's own status/history and with dnf as the client of the published repos. Nothing is
 * stubbed: these pass only when host/, functions/ and cdk/ agree on every payload between them
 * (verify-staging's result as the staging ASL reads it, the promotion input the promotion-events
 * handler starts, …).
 */
let root: string;
let demo: DemoResult;

async function releng(...argv: string[]) {
  const out = capture();
  const code = await main([...argv, '--root', root, '--json'], out);
  return { code, out, body: out.lines.length ? out.last<Record<string, unknown>>() : {} };
}

/** Every file under a tree with its content hash: "untouched" means this does not change. */
async function treeDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true }).catch(() => [])).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else
        hash.update(
          `${relative(dir, path)} ${(await stat(path)).mtimeMs} ${await readFile(path).catch(() => '')}\n`,
        );
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

let apollo: LocalApollo;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-e2e-'));
  await rm(root, { recursive: true });
  demo = await runDemo({ root, yes: true });
  // Later cycles on this root fetch errata again: serve them as the demo did.
  apollo = await serveDemoErrata(root);
}, 600_000);
afterAll(async () => {
  await apollo?.close();
  await rm(root, { recursive: true, force: true });
});

describe('releng demo on the embedded engine', () => {
  it('runs compose → staging → approval → production → file lists, every execution succeeding', () => {
    expect(demo.executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    expect(new Set(demo.executions.map((e) => e.stateMachine))).toEqual(
      new Set(['compose', 'staging', 'promotion']),
    );
    expect(demo.ok).toBe(true);
    expect(demo.published).toBe(true);
    expect(demo.composeId).toMatch(/^Rocky-8-updates-[0-9]{8}\.[0-9]+$/);
    expect(demo.advisories).toEqual(['RLBA-2026:0001']);
  });

  it('publishes repos dnf installs from with repo_gpgcheck=1, with groups and the advisory', async () => {
    const repo = (variant: string) => ({
      id: `demo-${variant}`,
      path: join(demo.productionDir, variant, 'x86_64', 'os'),
      gpgKey: demo.gpgPublicKey,
    });
    const dnf = await dnfClient(join(root, 'dnf'), [repo('BaseOS'), repo('AppStream')]);
    await dnf.run(['makecache']);
    const groups = (await dnf.run(['group', 'list', '--hidden'])).stdout;
    expect(groups).toMatch(/Core|Demo Tools/);
    // The updates compose carries the newest build of each package (1.1), which the advisory covers.
    await dnf.run(['install', 'demo-hello']);
    expect((await dnf.run(['list', '--installed', 'demo-hello'])).stdout).toContain('1.1-1.el8');
    const advisories = (await dnf.run(['updateinfo', 'list', '--installed'])).stdout;
    expect(advisories).toMatch(/RLBA-2026:0001\s+bugfix\s+demo-hello-1\.1-1\.el8\.noarch/);
  });

  it('wrote the mirror file lists last, naming the published repodata', async () => {
    const list = await readFile(join(demo.productionDir, '..', 'fullfiletimelist-rocky'), 'utf8');
    expect(list).toContain('[End]');
    expect(list).toMatch(/BaseOS\/x86_64\/os\/repodata\/repomd\.xml/);
  });

  it('shows the finished executions and no held lock in status', async () => {
    const { code, body } = await releng('status');
    expect(code).toBe(0);
    const executions = body.executions as Array<{ name: string; status: string }>;
    expect(executions.length).toBe(demo.executions.length);
    expect(body.locks).toEqual([]);
  });
});

const productionPub = () => join(root, 'mnt/repos-production/mirror/pub');

/**
 * The same demo's SIG release: staging announces the release and the SIG as releases of their
 * own, both join one promotion batch, and that one promotion approves each, publishes the SIG
 * tree to `pub/sig/<major>/<sig>` next to the release and writes the file lists once.
 */
describe('releng demo with a SIG release', () => {
  it('publishes the SIG tree in production, signed, and names it in the summary', async () => {
    expect(demo.ok, JSON.stringify(demo.executions)).toBe(true);
    const sigDir = join(productionPub(), 'sig/8/kernel');
    expect(demo.sigProductionDirs).toEqual([sigDir]);
    const repo = join(sigDir, 'x86_64/os');
    expect(await readdir(join(repo, 'Packages'))).toEqual(['demo-kernel-sig-1.0-1.el8.noarch.rpm']);
    const verify = await execFile([
      'gpg',
      '--batch',
      '--no-default-keyring',
      '--keyring',
      join(root, 'sig-check.kbx'),
      '--import',
      demo.gpgPublicKey,
    ]).then(() =>
      execFile([
        'gpg',
        '--batch',
        '--no-default-keyring',
        '--keyring',
        join(root, 'sig-check.kbx'),
        '--verify',
        join(repo, 'repodata/repomd.xml.asc'),
        join(repo, 'repodata/repomd.xml'),
      ]),
    );
    expect(verify.code, verify.stderr).toBe(0);
    // The SIG never lands in the release tree, nor the release in the SIG tree.
    expect(existsSync(join(demo.productionDir, 'kernel'))).toBe(false);
    expect(await readdir(join(productionPub(), 'sig/8'))).toEqual(['kernel']);
  });

  it("lists every file of the SIG tree in fullfiletimelist-sig, written after the SIG's publish", async () => {
    const sigTree = join(productionPub(), 'sig');
    const list = await readFile(join(sigTree, 'fullfiletimelist-sig'), 'utf8');
    const files = (await readdir(join(sigTree, '8'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => relative(sigTree, join(e.parentPath, e.name)));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) expect(list).toContain(`\t${file}\n`);
  });

  it('published the release and the SIG with ONE promotion, each approved on its own', async () => {
    const promotions = demo.executions.filter((e) => e.stateMachine === 'promotion');
    expect(promotions.map((p) => p.status)).toEqual(['SUCCEEDED']);
    const promotion = promotions[0]!;
    expect(promotion.name).toMatch(/^promote-batch-/);
    const record = JSON.parse(
      await readFile(join(root, 'engine/executions', promotion.name, 'execution.json'), 'utf8'),
    ) as { input: unknown };
    const { batch: started } = PromotionBatchRequestV1.parse(record.input);
    // Its batch, closed, holds both releases; two approvals, both APPROVED by the demo approver.
    const table = engineStateTable(join(root, 'engine'));
    const items = await table.scan();
    const batch = items.find((i) => i.pk?.S === `PROMOTION-BATCH#${started.id}`);
    expect(batch?.closed).toEqual({ BOOL: true });
    const joined = Object.values((batch!.releases as { M: Record<string, { S: string }> }).M).map(
      (r) => JSON.parse(r.S) as { sig?: string },
    );
    expect(joined.map((r) => r.sig ?? 'release').sort()).toEqual(['kernel', 'release']);
    const approvals = items.filter((i) => String(i.pk?.S).startsWith(`APPROVAL#${promotion.name}-`));
    expect(approvals.map((a) => a.status)).toEqual([{ S: 'APPROVED' }, { S: 'APPROVED' }]);
  });
});

describe('when a host step fails', () => {
  it('fails the execution at that step, releases its locks, and a rerun after the fix completes', {
    timeout: 300_000,
  }, async () => {
    // The errata service goes away: apply-updateinfo cannot fetch the advisories.
    await apollo.close();
    const failed = await releng(
      'sync-staging',
      '--major',
      '8',
      '--compose',
      'Rocky',
      '--name',
      'broken-staging',
      '--yes',
    );
    expect(failed.code).toBe(1);
    const run = (
      failed.body.executions as Array<{
        name: string;
        status: string;
        failedState?: string;
        error?: string;
        cause?: string;
      }>
    )[0]!;
    expect(run).toMatchObject({ name: 'broken-staging', status: 'FAILED', error: 'HostCommandFailed' });
    expect(run.failedState).toBe('Apply updateinfo: run');
    // The host operation's own failure line, not a log group to go and read.
    expect(run.cause).toMatch(
      /^releng-host apply-updateinfo: Failed \(exit 1\): apollo: http:\/\/127\.0\.0\.1:/,
    );

    const status = await releng('status');
    expect(status.body.locks).toEqual([]);
    const history = await releng('history', 'broken-staging');
    const events = (history.body as { events: Array<{ type: string; state?: string; error?: string }> })
      .events;
    expect(events.some((e) => e.type === 'StateFailed' && e.state === 'Apply updateinfo: run')).toBe(true);
    const logs = await releng('logs', 'broken-staging');
    expect(JSON.stringify(logs.body)).toContain('[apply-updateinfo] FAILED: apollo');

    apollo = await serveDemoErrata(root);
    const rerun = await releng('rerun', 'broken-staging', '--yes');
    expect(rerun.code).toBe(0);
    expect(rerun.body).toMatchObject({ rerunOf: 'broken-staging', execution: { status: 'SUCCEEDED' } });
  });
});

describe('a rejected promotion', () => {
  it('leaves production untouched', { timeout: 300_000 }, async () => {
    const other = await mkdtemp(join(tmpdir(), 'releng-e2e-reject-'));
    await rm(other, { recursive: true });
    const decisions: Array<{ code: number; body: Record<string, unknown> }> = [];
    const decided = new Set<string>();
    let tokensShown = 0;
    try {
      // No --yes: when the promotion asks, an engineer rejects it from "another terminal".
      const result = await runDemo({
        root: other,
        yes: false,
        listener: (event) => {
          if (event.kind !== 'approval') return;
          void (async () => {
            const listed = capture();
            await main(['approvals', '--root', other, '--json'], listed);
            // What approvers list never carries the task token that completes the execution.
            tokensShown += listed.lines.join('\n').includes('taskToken') ? 1 : 0;
            for (const { approvalId } of listed.last<{ pending: Array<{ approvalId: string }> }>().pending) {
              if (decided.has(approvalId)) continue;
              decided.add(approvalId);
              const out = capture();
              const code = await main(
                ['reject', approvalId, '--root', other, '--reason', 'not this one', '--json'],
                out,
              );
              decisions.push({ code, body: out.last() });
            }
          })();
        },
      });
      // The release and the demo's SIG: one promotion, each approval rejected on its own.
      expect(decisions).toHaveLength(2);
      expect(tokensShown).toBe(0);
      for (const decision of decisions)
        expect(decision).toMatchObject({
          code: 0,
          body: { accepted: true, result: { outcome: 'REJECTED' } },
        });
      expect(result.published).toBe(false);
      expect(result.ok).toBe(false);
      // Nothing was written to the tree mirrors sync (verify-staging keeps a hash cache beside it).
      expect(await treeDigest(join(other, 'mnt/repos-production/mirror'))).toBe(
        await treeDigest(join(other, 'no-such-dir')),
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('two composes of one lane', () => {
  it('never hold the lane together: the second waits for the first to release it', {
    timeout: 300_000,
  }, async () => {
    const compose = (name: string) => {
      const out = capture();
      return main(
        ['compose', '--root', root, '--major', '8', '--compose', 'Rocky', '--name', name, '--yes', '--json'],
        out,
      ).then((code) => ({ code, out }));
    };
    const [a, b] = await Promise.all([compose('lane-a'), compose('lane-b')]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const spans = [];
    for (const name of ['lane-a', 'lane-b']) {
      const { body } = await releng('history', name);
      const events = (body as { events: Array<{ type: string; state?: string; timestamp: string }> }).events;
      const taken = events.find((e) => e.type === 'StateExited' && e.state === 'Lane lock: take');
      const released = events.find((e) => e.type === 'StateExited' && e.state === 'Lane lock: release');
      expect(taken && released, name).toBeTruthy();
      spans.push([Date.parse(taken!.timestamp), Date.parse(released!.timestamp)]);
    }
    const [[a0, a1], [b0, b1]] = spans as [[number, number], [number, number]];
    expect(a1 <= b0 || b1 <= a0).toBe(true);
  });
});
