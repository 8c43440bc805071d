import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidParametersError, LocalAgent, LocalS3, parseS3Url } from '../../cli/agent/index.ts';

let root: string;
let hostRoot: string;
let agent: LocalAgent;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agent-'));
  hostRoot = join(root, 'host');
  await mkdir(hostRoot);
  agent = new LocalAgent({ hostRoot, s3Dir: join(root, 's3') });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A schema 2.2 document of shell steps, each a list of lines. */
function shellDocument(parameters: Record<string, unknown>, ...steps: string[][]) {
  return {
    schemaVersion: '2.2',
    description: 'test',
    parameters,
    mainSteps: steps.map((runCommand, i) => ({
      action: 'aws:runShellScript',
      name: `step${i}`,
      inputs: { runCommand, timeoutSeconds: '60' },
    })),
  };
}

/** Whether `pid` still runs: a killed process may linger as a zombie until someone reaps it. */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

describe('parameters, as SendCommand and the agent check them', () => {
  it('fails every command of a document whose pattern RE2 cannot compile, even one left at its default', async () => {
    const doc = shellDocument(
      {
        name: { type: 'String', allowedPattern: '^[a-z]+$' },
        advisory: { type: 'String', default: '', allowedPattern: '^$|^(?!RLSA-0000)[A-Z]+-\\d+$' },
      },
      ['touch "$RELENG_HOST_ROOT/ran"'],
    );
    const result = await agent.start(doc, { name: ['ok'] }).done;
    expect(result.status).toBe('Failed');
    expect(result.stderr).toContain('parameter advisory');
    expect(result.stderr).toContain('does not compile as RE2');
    expect(existsSync(join(hostRoot, 'ran'))).toBe(false);
  });

  it('refuses a value outside its pattern or allowed values before any step runs, naming both', async () => {
    const doc = shellDocument(
      {
        name: { type: 'String', allowedPattern: '^[a-z]+$' },
        channel: { type: 'String', allowedValues: ['stable', 'beta'], default: 'stable' },
      },
      ['touch "$RELENG_HOST_ROOT/ran"'],
    );
    const bad = await agent.start(doc, { name: ["x'; rm -rf /"], channel: ['lts'] }).done;
    expect(bad.status).toBe('Failed');
    expect(bad.stderr).toContain(
      `parameter name: value "x'; rm -rf /" does not match the allowed pattern /^[a-z]+$/`,
    );
    expect(bad.stderr).toContain('parameter channel: value "lts" is not one of the allowed values');
    expect(existsSync(join(hostRoot, 'ran'))).toBe(false);
    expect((await agent.start(doc, { name: ['ok'] }).done).status).toBe('Success');
    expect(existsSync(join(hostRoot, 'ran'))).toBe(true);
  });

  it('refuses unknown and missing parameters when the command is sent', () => {
    const doc = shellDocument({ name: { type: 'String', allowedPattern: '^[a-z]+$' } }, ['true']);
    expect(() => agent.start(doc, { name: ['a'], nmae: ['b'] })).toThrow(InvalidParametersError);
    expect(() => agent.start(doc, { name: ['a'], nmae: ['b'] })).toThrow(
      /unknown parameter "nmae" \(value \["b"\]\)/,
    );
    expect(() => agent.start(doc, {})).toThrow(/parameter name is required/);
    expect(() => agent.start(doc, { name: ['a', 'b'] })).toThrow(/takes one value/);
  });

  it('pastes values as text, with or without spaces, and turns $$ into $ as the agent does', async () => {
    const doc = shellDocument(
      { a: { type: 'String', allowedPattern: '^[a-z$ ]+$' }, b: { type: 'String', default: 'dflt' } },
      ["printf '%s|%s|%s\\n' '{{ a }}' '{{b}}' '{{  a  }}'"],
    );
    const result = await agent.start(doc, { a: ['x $$y'] }).done;
    expect(result.stdout).toBe('x $y|dflt|x $y\n');
  });
});

describe('aws:runShellScript, as the agent runs it on EL8', () => {
  it('runs the lines as one bash script in POSIX mode, with the host root in RELENG_HOST_ROOT', async () => {
    const doc = shellDocument({}, [
      'set -euo pipefail',
      'shopt -oq posix && echo posix',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
      'x=(a b); echo "${#x[@]} $RELENG_HOST_ROOT $SSM_COMMAND_ID"',
      'pwd',
    ]);
    const result = await agent.start(doc, {}, { commandId: 'cmd-1' }).done;
    expect(result).toMatchObject({ status: 'Success', statusDetails: 'Success', responseCode: 0 });
    expect(result.stdout).toBe(`posix\n2 ${hostRoot} cmd-1\n${hostRoot}\n`);
    const script = join(hostRoot, 'var/lib/amazon/ssm/i-local/document/orchestration/cmd-1/step0/_script.sh');
    expect((await stat(script)).mode & 0o777).toBe(0o700);
  });

  it('runs the steps in order and stops at the first that fails, with its exit code', async () => {
    const doc = shellDocument(
      {},
      ['echo one'],
      ['echo two >&2; exit 3'],
      ['touch "$RELENG_HOST_ROOT/three"'],
    );
    const result = await agent.start(doc, {}).done;
    expect(result).toMatchObject({ status: 'Failed', responseCode: 3, stdout: 'one\n', stderr: 'two\n' });
    expect(result.steps.map((s) => s.status)).toEqual(['Success', 'Failed', 'Pending']);
    expect(existsSync(join(hostRoot, 'three'))).toBe(false);
  });

  it('reports the FIRST 24,000 characters of stdout and the first 8,000 of stderr, as GetCommandInvocation does', async () => {
    const doc = shellDocument({}, [
      'for i in $(seq 1 6000); do printf "%05d\\n" "$i"; done',
      'for i in $(seq 1 3000); do printf "%05d\\n" "$i" >&2; done',
      'echo tail-marker',
    ]);
    const started = agent.start(doc, {}, { commandId: 'big' });
    const result = await started.done;
    expect(result.status).toBe('Success');
    expect(result.stdout).toHaveLength(24_000);
    expect(result.stdout.startsWith('00001\n00002\n')).toBe(true);
    expect(result.stdout.endsWith('04000\n')).toBe(true);
    expect(result.stdout).not.toContain('tail-marker');
    expect(result.stderr).toHaveLength(8_000);
    expect(result.stderr.startsWith('00001\n')).toBe(true);
    expect(agent.invocation('big', 'step0')?.stdout).toBe(result.stdout);
    // The whole output stays on the host, as the agent keeps it in its orchestration directory.
    const full = await readFile(
      join(hostRoot, 'var/lib/amazon/ssm/i-local/document/orchestration/big/step0/stdout'),
      'utf8',
    );
    expect(full.endsWith('tail-marker\n')).toBe(true);
  });

  it('kills the whole process group when the step times out', async () => {
    const doc = {
      schemaVersion: '2.2',
      mainSteps: [
        {
          action: 'aws:runShellScript',
          name: 'slow',
          inputs: {
            timeoutSeconds: '5',
            runCommand: ['sleep 120 & echo $! > "$RELENG_HOST_ROOT/child"', 'wait'],
          },
        },
      ],
    };
    const began = Date.now();
    const result = await agent.start(doc, {}).done;
    expect(result).toMatchObject({
      status: 'TimedOut',
      statusDetails: 'ExecutionTimedOut',
      responseCode: 137,
    });
    expect(Date.now() - began).toBeGreaterThanOrEqual(4900);
    const child = Number(await readFile(join(hostRoot, 'child'), 'utf8'));
    expect(alive(child)).toBe(false);
  });

  it('cancels like CancelCommand: the whole process group dies and later steps never run', async () => {
    const doc = shellDocument(
      {},
      ['sleep 120 & echo $! > "$RELENG_HOST_ROOT/child"', 'wait'],
      ['touch "$RELENG_HOST_ROOT/after"'],
    );
    const started = agent.start(doc, {}, { commandId: 'to-cancel' });
    const childFile = join(hostRoot, 'child');
    while (!existsSync(childFile) || (await readFile(childFile, 'utf8')) === '') {
      await new Promise((r) => setTimeout(r, 50));
    }
    const child = Number(await readFile(childFile, 'utf8'));
    expect(started.pid).toBeGreaterThan(0);
    expect(agent.invocation('to-cancel')?.status).toBe('InProgress');
    started.cancel();
    const result = await started.done;
    expect(result.status).toBe('Cancelled');
    expect(alive(child)).toBe(false);
    expect(existsSync(join(hostRoot, 'after'))).toBe(false);
  });
});

describe('aws:downloadContent from S3', () => {
  const url = 'https://s3.eu-west-1.amazonaws.com/assets-bucket/abc123.mjs';

  beforeEach(async () => {
    const s3 = new LocalS3(join(root, 's3'));
    await mkdir(join(root, 's3', 'assets-bucket'), { recursive: true });
    await writeFile(s3.fileOf('assets-bucket', 'abc123.mjs'), 'bundle\n');
  });

  function downloadDocument(destinationPath: string, ...check: string[]) {
    return {
      schemaVersion: '2.2',
      parameters: {
        bundleUrl: { type: 'String', allowedPattern: '^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)+$' },
      },
      mainSteps: [
        {
          action: 'aws:downloadContent',
          name: 'bundle',
          inputs: { sourceType: 'S3', sourceInfo: '{"path":"{{ bundleUrl }}"}', destinationPath },
        },
        { action: 'aws:runShellScript', name: 'check', inputs: { runCommand: check } },
      ],
    };
  }

  it('saves the object AS a file named by a destination that does not exist and has no trailing /', async () => {
    const doc = downloadDocument(
      '/var/lib/releng/download/bundle',
      'set -e',
      'ls "$RELENG_HOST_ROOT"/var/lib/releng/download/bundle/*.mjs',
    );
    const result = await agent.start(doc, { bundleUrl: [url] }).done;
    expect(result.status).toBe('Failed');
    expect(result.stdout).toContain('Content downloaded to /var/lib/releng/download/bundle');
    expect(await readFile(join(hostRoot, 'var/lib/releng/download/bundle'), 'utf8')).toBe('bundle\n');
  });

  it('saves it inside a destination with a trailing / or one that is a directory', async () => {
    const check = ['set -e', 'cat "$RELENG_HOST_ROOT"/var/lib/releng/download/bundle/*.mjs'];
    expect(
      (
        await agent.start(downloadDocument('/var/lib/releng/download/bundle/', ...check), {
          bundleUrl: [url],
        }).done
      ).stdout,
    ).toContain('bundle\n');
    await rm(join(hostRoot, 'var'), { recursive: true });
    await mkdir(join(hostRoot, 'var/lib/releng/download/bundle'), { recursive: true });
    const result = await agent.start(downloadDocument('/var/lib/releng/download/bundle', ...check), {
      bundleUrl: [url],
    }).done;
    expect(result.status).toBe('Success');
    expect((await stat(join(hostRoot, 'var/lib/releng/download/bundle/abc123.mjs'))).mode & 0o777).toBe(
      0o700,
    );
  });

  it('puts a relative destination under the command downloads/ directory, where the script then runs', async () => {
    const doc = downloadDocument('here/', 'pwd', 'cat here/abc123.mjs');
    const result = await agent.start(doc, { bundleUrl: [url] }, { commandId: 'rel' }).done;
    expect(result.status).toBe('Success');
    expect(result.stdout).toContain(
      `${hostRoot}/var/lib/amazon/ssm/i-local/document/orchestration/rel/downloads\nbundle\n`,
    );
  });

  it('fails the step, and the command, when the object does not exist', async () => {
    const doc = downloadDocument('/tmp/x/', 'touch "$RELENG_HOST_ROOT/ran"');
    const result = await agent.start(doc, { bundleUrl: [url.replace('abc123', 'nope')] }).done;
    expect(result.status).toBe('Failed');
    expect(result.stderr).toContain(
      'S3 object https://s3.eu-west-1.amazonaws.com/assets-bucket/nope.mjs does not exist',
    );
    expect(existsSync(join(hostRoot, 'ran'))).toBe(false);
  });

  it('maps path-style, virtual-hosted and s3:// URLs to the same object', () => {
    const want = { bucket: 'cdk-hnb659fds-assets-1-eu-west-1', key: 'a/b.json' };
    for (const u of [
      'https://s3.eu-west-1.amazonaws.com/cdk-hnb659fds-assets-1-eu-west-1/a/b.json',
      'https://s3.amazonaws.com/cdk-hnb659fds-assets-1-eu-west-1/a/b.json',
      'https://cdk-hnb659fds-assets-1-eu-west-1.s3.eu-west-1.amazonaws.com/a/b.json',
      'https://cdk-hnb659fds-assets-1-eu-west-1.s3.amazonaws.com/a/b.json',
      's3://cdk-hnb659fds-assets-1-eu-west-1/a/b.json',
    ]) {
      expect(parseS3Url(u), u).toEqual(want);
    }
    expect(() => parseS3Url('https://example.com/a/b')).toThrow(
      /not an S3 URL: "https:\/\/example.com\/a\/b"/,
    );
    expect(() => parseS3Url('s3://Bad_Bucket/x')).toThrow(/"s3:\/\/Bad_Bucket\/x" names no valid bucket/);
  });
});
