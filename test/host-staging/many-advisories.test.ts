import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentContent } from '../../cdk/constructs/host-documents.ts';
import { LocalAgent } from '../../cli/agent/index.ts';
import { ADVISORY_ID, type PackageStore, tagUpdate } from '../../cli/demo/package-store.ts';
import { LocalHostCommands } from '../../cli/engine/adapters/host-commands.ts';
import { LocalDocumentClient } from '../../cli/engine/local-document-client.ts';
import { LocalTable } from '../../cli/engine/local-table.ts';
import { LocalTaskTokens } from '../../cli/engine/task-tokens.ts';
import { DynamoHostCommandStore } from '../../functions/adapters/host-command-store.ts';
import { completeHostCommand, sendHostCommand } from '../../shared/host-commands/lifecycle.ts';
import { StagingReadyV1 } from '../../shared/messages/promotion.ts';
import { installDevHost } from '../support/host-root.ts';
import { type HostRun, hostRunner, newStore } from './support.ts';

/**
 * SSM's GetCommandInvocation returns the first 24,000 characters of stdout and the state
 * machine parses verify-staging's result line out of it. With every advisory in that line,
 * about 1,400 advisories broke staging. Here 5,000 go through apply-updateinfo and
 * verify-staging: the line stays under 4 KB and parses, the state machine's fields are whole,
 * and the result file on the host holds every advisory.
 */
const COUNT = 5000;
const ids = Array.from({ length: COUNT }, (_, i) => `RLBA-2026:${String(i + 1).padStart(4, '0')}`);

/** The store's one advisory, repeated under 5,000 ids (all for the same update build). */
function manyAdvisories(updateinfo: string): string {
  const start = updateinfo.indexOf('  <update ');
  const end = updateinfo.indexOf('</updates>');
  const one = updateinfo.slice(start, end);
  return `${updateinfo.slice(0, start)}${ids.map((id) => one.replace(ADVISORY_ID, id)).join('')}</updates>\n`;
}

describe('verify-staging with 5,000 advisories', () => {
  let dir: string;
  let store: PackageStore;
  let verify: HostRun;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-advisories-'));
    store = await newStore(dir);
    const host = hostRunner(store);
    const ok = async (operation: string, ...args: string[]) => {
      const run = await host(operation, ...args);
      expect(run.result.error ?? '', `${operation}\n${run.stderr}`).toBe('');
      return run;
    };
    await tagUpdate(store);
    const updateinfo = join(dir, 'updateinfo-5000.xml');
    await writeFile(updateinfo, manyAdvisories(await readFile(store.updateinfoPath, 'utf8')));
    await ok('compose', '--compose', 'Rocky', '--kind', 'updates');
    await ok('sync-to-staging', '--compose', 'Rocky');
    await ok('prep-staging');
    await ok('apply-updateinfo', '--updateinfo', updateinfo);
    await ok('sign-repos');
    verify = await ok('verify-staging');
  }, 300_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one JSON line of at most 4,096 bytes that parses and names the digest', () => {
    expect(verify.code).toBe(0);
    expect(Buffer.byteLength(verify.line, 'utf8')).toBeLessThanOrEqual(4096);
    const line = JSON.parse(verify.line);
    expect(line.digest).toMatch(/^[a-f0-9]{64}$/);
    expect(line).toMatchObject({ ok: true, major: '8', channel: 'stable', revision: '8.7', truncated: true });
    expect(line.manifest).toMatch(/\.releng\/manifests\/8\.7-RC1\.json$/);
    expect(line.summary.advisoryCount).toBe(COUNT);
    expect(line.summary.advisories).toEqual(ids.slice(0, 10));
  });

  it('carries a summary the staging-ready message accepts, as the state machine builds it', () => {
    const line = JSON.parse(verify.line);
    const message = StagingReadyV1.parse({
      version: 1,
      type: 'staging-ready',
      major: '8',
      channel: 'stable',
      revision: line.revision,
      digest: line.digest,
      summary: line.summary,
      requestedBy: 'release-bot',
      sigs: [],
    });
    expect(message.summary.advisoryCount).toBe(COUNT);
  });

  it('reaches the waiting task whole through the SSM document, the agent and the completion event', async () => {
    // The path a pipeline takes: the synthesized document's own script on the local agent
    // (output cut to SSM's first 24,000 characters), then host-command-events' completion.
    await installDevHost(dir, store.configOverrides);
    const agent = new LocalAgent({ hostRoot: dir, s3Dir: join(dir, 'engine/s3') });
    const ended: string[] = [];
    const commands = new LocalHostCommands({
      agent,
      documents: { VerifyDoc: documentContent('verify-staging') },
      onEnded: (id) => ended.push(id),
    });
    const tokens = new LocalTaskTokens(join(dir, 'engine'), 10);
    const deps = {
      commands,
      store: new DynamoHostCommandStore(
        new LocalDocumentClient(new LocalTable(join(dir, 'engine/table.json'), ['pk', 'sk'])),
        'local',
        { now: () => new Date() },
      ),
      callbacks: tokens,
      clock: { now: () => new Date() },
    };
    const taskToken = await tokens.mint('staging-1', 'Verify staging: run');
    const { commandId } = await sendHostCommand(deps, {
      version: 1,
      taskToken,
      operation: 'verify-staging',
      documentName: 'VerifyDoc',
      instanceId: 'i-0123456789abcdef0',
      parameters: { major: ['8'], channel: ['stable'], revision: [''] },
      execution: 'arn:aws:states:local:0:execution:staging:staging-1',
      state: 'Verify staging: run',
      timeoutSeconds: 4 * 3600,
    });
    for (let i = 0; i < 3000 && !ended.includes(commandId); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await completeHostCommand(deps, commandId)).toBe('succeeded');
    const { output } = (await tokens.wait(taskToken)) as { output: Record<string, any> };
    expect(output.digest).toBe(JSON.parse(verify.line).digest);
    expect(output.summary.advisoryCount).toBe(COUNT);
  });

  it('keeps the whole result, every advisory, in the result file on the host', async () => {
    const line = JSON.parse(verify.line);
    expect(line.resultFile).toMatch(/\/var\/lib\/releng\/results\/verify-staging-.*-[0-9]+\.json$/);
    expect(line.resultFile.startsWith(dir)).toBe(true);
    const full = JSON.parse(await readFile(line.resultFile, 'utf8'));
    expect(full.advisories).toEqual(ids);
    expect(full.digest).toBe(line.digest);
    expect(full.summary).toEqual(line.summary);
    const manifest = JSON.parse(await readFile(line.manifest, 'utf8'));
    expect(manifest.digest).toBe(line.digest);
  });
});
