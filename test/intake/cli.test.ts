import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineStateTable } from '../../cli/engine/local-table.ts';
import { main } from '../../cli/main.ts';
import type { Output } from '../../cli/output.ts';
import { inSns } from '../functions/envelopes.ts';
import { bashBuild } from '../functions/support.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-intake-cli-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function releng(...argv: string[]) {
  const lines: string[] = [];
  const errors: string[] = [];
  const out: Output = {
    line: (t) => lines.push(t),
    error: (t) => errors.push(t),
    json: (v) => lines.push(JSON.stringify(v)),
  };
  const code = await main(argv, out);
  return { code, lines, errors, last: () => JSON.parse(lines.at(-1)!) };
}

/** `releng intake koji <events> --root ROOT --json …extra`. */
const intakeKoji = async (root: string, ...extra: string[]) =>
  releng('intake', 'koji', await eventsFile(), '--root', root, '--json', ...extra);

async function eventsFile(): Promise<string> {
  const lines = [
    ...Array.from({ length: 23 }, (_, i) => bashBuild(i)),
    bashBuild(1, 'dist-rocky8-extras-build'),
    bashBuild(1, 'not-our-tag'),
    '{"topic":"buildsys.tag","body":{"tag":{"name":"$(reboot)"}}}',
    '',
    'not json',
  ];
  const file = join(dir, 'events.jsonl');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe('releng intake koji', () => {
  it('takes a real broker message: a fedora-messaging tag inside an SNS notification', async () => {
    const root = join(dir, 'root');
    const real = JSON.parse(
      await readFile(new URL('../fixtures/koji-messages/fedora-messaging-tag.json', import.meta.url), 'utf8'),
    );
    const file = join(dir, 'real.jsonl');
    await writeFile(file, `${JSON.stringify(inSns(real))}\n`);
    // A deployment lists its koji's tags: here Fedora's, mapped to the 8/Rocky lane.
    const config = join(dir, 'releng.config.json');
    await writeFile(
      config,
      JSON.stringify({ majors: { '8': { kojiTags: { 'f31-updates-pending': 'Rocky' } } } }),
    );
    const run = await releng(
      'intake',
      'koji',
      file,
      '--root',
      root,
      '--json',
      '--engine',
      'record',
      '--config',
      config,
    );
    expect(run.code).toBe(0);
    const report = run.last();
    expect(report).toMatchObject({ received: 1, accepted: 1, rejected: [] });
    expect(report.executions.map((e: { lane: string }) => e.lane)).toEqual(['8/Rocky']);
  });

  it('feeds every line through the koji-events handler and reports what it started', async () => {
    const root = join(dir, 'root');
    const run = await intakeKoji(root, '--engine', 'record');
    // Exit 1: the file held messages intake rejected.
    expect(run.code).toBe(1);
    const report = run.last();
    expect(report.received).toBe(27);
    expect(report.accepted).toBe(25);
    expect(report.rejected).toEqual([
      { index: 25, line: 26, reason: expect.stringMatching(/^body\.tag\.name: not a valid koji tag/) },
      { index: 27, line: 28, reason: expect.stringMatching(/^body is not JSON/) },
    ]);
    expect(report.ignored).toEqual([
      { index: 24, line: 25, reason: 'tag not-our-tag feeds no configured lane' },
    ]);
    expect(report.executions.map((e: { lane: string }) => e.lane)).toEqual(['8/Rocky', '8/Extras']);
    const recorded = JSON.parse(await readFile(join(root, 'state', 'executions.json'), 'utf8'));
    expect(Object.keys(recorded)).toHaveLength(2);

    // The same events again, in the same quiet window: coalesced into what already exists.
    const again = (await intakeKoji(root, '--engine', 'record')).last();
    expect(again.executions).toEqual([]);
  });

  it('--dry-run lists the executions that would start and changes nothing', async () => {
    const root = join(dir, 'root');
    const report = (await intakeKoji(root, '--dry-run', '--engine', 'record')).last();
    expect(report.dryRun).toBe(true);
    expect(report.executions).toHaveLength(2);
    expect(existsSync(join(root, 'state', 'executions.json'))).toBe(false);
    // Lane state lives in the engine's state table: a dry run never creates it.
    expect(existsSync(engineStateTable(join(root, 'engine')).file)).toBe(false);
  });

  it('--dry-run on the local engine reads its executions and starts none', async () => {
    const root = join(dir, 'root');
    const run = await intakeKoji(root, '--dry-run');
    expect(run.code).toBe(1);
    expect(run.last().executions.map((e: { name: string }) => e.name)).toEqual([
      expect.stringMatching(/^compose-8-Rocky-/),
      expect.stringMatching(/^compose-8-Extras-/),
    ]);
    expect(existsSync(join(root, 'engine', 'executions'))).toBe(false);
  });

  it('refuses an engine it cannot feed', async () => {
    const run = await releng('intake', 'koji', await eventsFile(), '--engine', 'aws');
    expect(run.code).toBe(2);
    expect(run.errors[0]).toMatch(/^releng intake: --engine "aws": intake runs locally/);
  });

  it('says how to call it when FILE is missing', async () => {
    const run = await releng('intake', 'koji');
    expect(run.code).toBe(2);
    expect(run.errors).toEqual([
      'releng intake: intake koji needs a FILE of JSON Lines, one SQS message body per line',
    ]);
  });
});
