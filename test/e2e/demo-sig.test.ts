import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../../cli/demo/demo.ts';
import { engineStateTable } from '../../cli/engine/local-table.ts';
import { execFile } from '../../host/framework/exec.ts';
import { PromotionBatchRequestV1 } from '../../shared/messages/promotion.ts';

/**
 * `releng demo` with its SIG compose: staging announces the release and the SIG as releases of
 * their own, both join one promotion batch, and that one promotion approves each, publishes
 * the SIG tree to `pub/sig/<major>/<sig>` next to the release and writes the file lists once.
 */
let root: string;
let demo: DemoResult;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-e2e-sig-'));
  await rm(root, { recursive: true });
  demo = await runDemo({ root, yes: true });
}, 600_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const productionPub = () => join(root, 'mnt/repos-production/mirror/pub');

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
