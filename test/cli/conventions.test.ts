import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../cli/args.ts';
import { progressPrinter } from '../../cli/commands/session.ts';
import { EXIT } from '../../cli/exit-codes.ts';
import { COMMANDS, main } from '../../cli/main.ts';
import type { Output } from '../../cli/output.ts';
import { bashBuild } from '../functions/support.ts';

const REPO = join(import.meta.dirname, '..', '..');

/** The real `releng` (or `releng-host`) process, as an engineer runs it. */
function run(
  bin: 'releng' | 'releng-host',
  argv: string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', `${bin}.mjs`), ...argv], {
      cwd: REPO,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdin.end(opts.stdin ?? '');
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

const lines = (text: string) => text.split('\n').filter(Boolean);

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-conventions-'));
  root = join(dir, 'release work', 'root');
  await mkdir(root, { recursive: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('exit codes and unknown options', () => {
  it('the table: 0 success, 1 failed, 2 usage or bad input, 3 not published', () => {
    expect(EXIT).toEqual({ OK: 0, FAILED: 1, USAGE: 2, NOT_PUBLISHED: 3 });
  });

  it('an unknown option is one line naming the option and the command, exit 2, no parser text', async () => {
    const result = await run('releng', ['status', '--root', root, '--bogus']);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stdout).toBe('');
    expect(lines(result.stderr)).toEqual([
      'releng status: unknown option --bogus (releng status --help lists its options)',
    ]);
    const missing = await run('releng', ['graph', 'promotion', '--format']);
    expect(missing.code).toBe(EXIT.USAGE);
    expect(lines(missing.stderr)).toEqual(['releng graph: --format needs a value']);
  });

  it('releng --version prints the package version; unknown options on releng-host are one line too', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const version = await run('releng', ['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`releng ${pkg.version}\n`);
    const host = await run('releng-host', ['file-lists', '--root', dir, '--bogus']);
    expect(host.code).toBe(EXIT.USAGE);
    expect(lines(host.stderr)).toEqual([
      'releng-host file-lists: unknown option --bogus (releng-host file-lists --help lists its options)',
    ]);
  });
});

describe('--json on failure', () => {
  async function releng(...argv: string[]) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const out: Output = {
      line: (t) => stdout.push(t),
      error: (t) => stderr.push(t),
      json: (v) => stdout.push(JSON.stringify(v)),
    };
    return { code: await main(argv, out), stdout, stderr };
  }

  it('a usage mistake and a failure each print one JSON object on stdout', async () => {
    const usage = await releng('graph', 'promotion', '--format', 'png', '--json');
    expect(usage.code).toBe(EXIT.USAGE);
    expect(usage.stdout).toHaveLength(1);
    expect(JSON.parse(usage.stdout[0]!)).toMatchObject({
      error: 'releng graph: --format "png": expected mermaid, dot or svg',
      exitCode: 2,
    });
    const failed = await releng('history', 'no-such-execution', '--root', root, '--json');
    expect(failed.code).toBe(EXIT.FAILED);
    expect(failed.stdout).toHaveLength(1);
    expect(JSON.parse(failed.stdout[0]!).error).toMatch(
      /^releng history: no execution named "no-such-execution"/,
    );
    const unknown = await releng('status', '--json', '--bogus');
    expect(JSON.parse(unknown.stdout[0]!).error).toMatch(/unknown option --bogus/);
  });

  it('a failure after an execution started names it', async () => {
    // A command that starts an execution (as the engine reports it) and then fails.
    COMMANDS['test-started-then-failed'] = {
      help: 'test only',
      run: async (_argv, out) => {
        progressPrinter(out, true)({ kind: 'started', execution: 'compose-8-20261203T100000Z', message: '' });
        throw new Error('the engine stopped');
      },
    };
    try {
      const failed = await releng('test-started-then-failed', '--json');
      expect(failed.code).toBe(EXIT.FAILED);
      expect(failed.stdout.map((l) => JSON.parse(l))).toEqual([
        {
          error: 'releng test-started-then-failed: the engine stopped',
          execution: 'compose-8-20261203T100000Z',
          exitCode: 1,
        },
      ]);
    } finally {
      delete COMMANDS['test-started-then-failed'];
    }
  });

  it('global options before the command go to the command (a root with a space works)', async () => {
    const before = await releng('--root', root, '--json', 'status');
    const after = await releng('status', '--root', root, '--json');
    expect(before.code).toBe(0);
    expect(before.stdout).toEqual(after.stdout);
    expect(JSON.parse(before.stdout[0]!)).toHaveProperty('executions');
  });
});

describe('no warning noise', () => {
  it('--engine aws prints no AWS SDK Node-version notice: only the one line about what went wrong', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_REGION: 'eu-west-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_CONFIG_FILE: join(dir, 'none'),
    };
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      delete env[key];
    const result = await run('releng', ['status', '--engine', 'aws'], { env });
    expect(result.code).toBe(EXIT.FAILED);
    expect(result.stderr).not.toMatch(/NodeVersionSupportWarning|node >=/);
    expect(lines(result.stderr)).toHaveLength(1);
  });

  it('only that warning is dropped: the others still print', async () => {
    const script = `import { quietUnwantedWarnings } from ${JSON.stringify(join(REPO, 'bin', 'quiet-warnings.mjs'))};
quietUnwantedWarnings();
const { SFNClient } = await import('@aws-sdk/client-sfn');
new SFNClient({ region: 'eu-west-1' });
process.emitWarning('NodeVersionSupportWarning: by name too', { type: 'Warning' });
process.emitWarning('a warning the user should see', 'DeprecationWarning');`;
    const result = await new Promise<string>((done) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', () => done(stderr));
    });
    expect(result).not.toMatch(/NodeVersionSupportWarning/);
    expect(result).toMatch(/DeprecationWarning: a warning the user should see/);
  });
});

describe('host progress lines', () => {
  const long = `rsync: ${'x'.repeat(400)} END`;
  function printed(out: Partial<Output>) {
    const seen: string[] = [];
    const sink: Output = { line: (t) => seen.push(t), error: (t) => seen.push(t), json: () => {}, ...out };
    progressPrinter(sink, false)({ kind: 'progress', execution: 'e', message: long });
    return seen[0]!;
  }

  it('a terminal cuts them at 200 characters; --verbose and files (pipes) never do', () => {
    expect(printed({ isTerminal: () => true })).toHaveLength(200);
    expect(printed({ isTerminal: () => true, verbose: true })).toMatch(/ END$/);
    expect(printed({ isTerminal: () => false })).toMatch(/ END$/);
  });

  it('--verbose is taken by main wherever it stands, never an unknown option of the command', async () => {
    const line = splitCommandLine(
      ['--verbose', '--root', 'R', 'status', '--json', '--', '--verbose'],
      new Set(['root']),
    );
    expect(line).toMatchObject({ command: 'status', verbose: true, json: true, help: false });
    expect(line.rest).toEqual(['--json', '--root', 'R', '--', '--verbose']);
    const out: Output = { line: () => {}, error: () => {}, json: () => {} };
    expect(await main(['config', 'show', '--major', '8', '--verbose'], out)).toBe(EXIT.OK);
  });
});

describe('releng intake koji', () => {
  it('- reads standard input; rejected messages exit 1; JSON line and text line N agree', async () => {
    const events = `${bashBuild(1)}\n\n{"topic":"buildsys.tag","body":{"tag":{"name":"$(reboot)"}}}\nnot json\n`;
    const argv = ['intake', 'koji', '-', '--engine', 'record', '--dry-run', '--root', root];
    const json = await run('releng', [...argv, '--json'], { stdin: events });
    expect(json.code).toBe(EXIT.FAILED);
    const report = JSON.parse(lines(json.stdout).at(-1)!);
    expect(report.received).toBe(3);
    expect(report.rejected.map((r: { line: number; index: number }) => [r.line, r.index])).toEqual([
      [3, 2],
      [4, 3],
    ]);
    const text = await run('releng', argv, { stdin: events });
    expect(text.code).toBe(EXIT.FAILED);
    expect(text.stdout).toMatch(/^ {2}line 3: rejected: body\.tag\.name/m);
    expect(text.stdout).toMatch(/^ {2}line 4: rejected: body is not JSON/m);
    const clean = await run('releng', [...argv, '--json'], { stdin: `${bashBuild(1)}\n` });
    expect(clean.code).toBe(EXIT.OK);
  });
});
