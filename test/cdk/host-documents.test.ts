import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  documentContent,
  documentParams,
  documentScript,
  HOST_INSTALL,
  ssmParamName,
} from '../../cdk/constructs/host-documents.ts';
import { LocalAgent } from '../../cli/agent/index.ts';
import {
  type DocumentParameter,
  resolveParameters,
  substituteParameters,
} from '../../cli/agent/parameters.ts';
import { HOST_OPERATIONS, type HostOperationName, hostArgv } from '../../shared/operations.ts';
import { PATTERNS } from '../../shared/patterns.ts';
import { type CfnTemplate, resourcesOf, synth } from './synth.ts';

const OPERATIONS = Object.keys(HOST_OPERATIONS) as HostOperationName[];

/** The script SSM runs for `values`: the agent's defaults and substitution over the document's step. */
function substitute(operation: HostOperationName, values: Record<string, string>): string {
  const declared = (documentContent(operation) as { parameters: Record<string, DocumentParameter> })
    .parameters;
  const given = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, [value]]));
  const lines = substituteParameters(
    documentScript(operation),
    resolveParameters(declared, given),
  ) as string[];
  return lines.join('\n');
}

/** Runs a document's script with bash as on AWS (no RELENG_HOST_ROOT), printing releng-host's argv. */
function argvOf(operation: HostOperationName, values: Record<string, string>): string[] {
  const script = substitute(operation, values).replace(`exec "$R${HOST_INSTALL.bin}"`, "printf '%s\\n'");
  const { RELENG_HOST_ROOT: _, ...env } = process.env;
  const run = spawnSync('bash', ['--posix', '-c', script], { encoding: 'utf8', env });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split('\n').slice(0, -1);
}

describe('SSM Command documents', () => {
  let json: CfnTemplate;
  beforeAll(() => {
    json = synth().json;
  });

  it('has one document per host operation, tagged with the operation for the local engine', () => {
    const docs = resourcesOf(json, 'AWS::SSM::Document').filter(([, r]) => r.Metadata?.['releng:operation']);
    expect(docs.map(([, r]) => r.Metadata?.['releng:operation']).sort()).toEqual([...OPERATIONS].sort());
    for (const [, doc] of docs) expect(doc.Properties?.DocumentType).toBe('Command');
  });

  it('holds every String parameter of every document to an allowedPattern or allowedValues', () => {
    const docs = resourcesOf(json, 'AWS::SSM::Document');
    expect(docs.length).toBeGreaterThan(OPERATIONS.length);
    for (const [id, doc] of docs) {
      for (const [name, param] of Object.entries(doc.Properties?.Content.parameters ?? {}) as [
        string,
        any,
      ][]) {
        expect(param.type, `${id}.${name}`).toBe('String');
        expect(param.allowedPattern ?? param.allowedValues, `${id}.${name} is unconstrained`).toBeDefined();
      }
    }
  });

  it('offers the catalogue parameters but fixes root and config', () => {
    const content = documentContent('sync-to-prod') as any;
    expect(Object.keys(content.parameters).sort()).toEqual(
      ['allowShrink', 'approvedDigest', 'channel', 'dryRun', 'major', 'revision', 'sig'].sort(),
    );
    expect(content.parameters.sig.allowedPattern).toBe(`^$|${PATTERNS.identifier}`);
    expect(content.parameters.approvedDigest.allowedPattern).toBe(PATTERNS.sha256);
    expect(content.parameters.revision.allowedPattern).toBe(`^$|${PATTERNS.revision}`);
    expect(content.parameters.channel.allowedValues).toEqual(['', 'stable', 'beta', 'lh']);
    expect(content.parameters.dryRun.allowedValues).toEqual(['true', 'false']);
  });

  it('sets the execution timeout from the catalogue: 48 h (the SSM maximum) for a compose', () => {
    for (const operation of OPERATIONS) {
      const step = (documentContent(operation) as any).mainSteps[0];
      expect(step.inputs.timeoutSeconds).toBe(String(HOST_OPERATIONS[operation].timeoutSeconds));
    }
    expect((documentContent('compose') as any).mainSteps[0].inputs.timeoutSeconds).toBe('172800');
  });

  it('admits no value that could leave its single quotes in the script', () => {
    const regexes = OPERATIONS.flatMap((op) =>
      Object.values((documentContent(op) as any).parameters).flatMap((p: any) =>
        p.allowedPattern ? [new RegExp(p.allowedPattern)] : [],
      ),
    );
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("'", '\n', '\\', '`', '"', '$('), fc.string(), (a, bad, b) => {
        for (const re of regexes) expect(re.test(`${a}${bad}${b}`)).toBe(false);
      }),
    );
  });

  it('hands releng-host exactly the argv the catalogue builds, a free-text reason as one argument', () => {
    const values = {
      major: '8',
      channel: 'stable',
      revision: '8.10',
      approvedDigest: 'a'.repeat(64),
      allowShrink: 'mirror cleanup; see #123 (approved by jdoe)',
      dryRun: 'true',
    };
    expect(argvOf('sync-to-prod', values)).toEqual(
      hostArgv('sync-to-prod', {
        root: '/',
        config: HOST_INSTALL.config,
        json: true,
        'dry-run': true,
        major: '8',
        channel: 'stable',
        revision: '8.10',
        'approved-digest': 'a'.repeat(64),
        'allow-shrink': values.allowShrink,
      }),
    );
  });

  it('leaves out optional parameters left empty and flags left false', () => {
    const argv = argvOf('compose', { major: '9', compose: 'Rocky', kind: 'updates', dryRun: 'false' });
    expect(argv).toEqual([
      'compose',
      '--root',
      '/',
      '--config',
      HOST_INSTALL.config,
      '--json',
      '--major',
      '9',
      '--compose',
      'Rocky',
      '--kind',
      'updates',
    ]);
  });

  it('runs releng-host under the host root the local agent sets, as the same document text', async () => {
    const root = await mkdtemp(join(tmpdir(), 'host-root-'));
    try {
      // Stands where the install puts releng-host: prints the argv it gets, one per line.
      const bin = join(root, HOST_INSTALL.bin);
      await mkdir(join(bin, '..'), { recursive: true });
      await writeFile(bin, '#!/bin/sh\nprintf \'%s\\n\' "$@"\n');
      await chmod(bin, 0o755);
      const agent = new LocalAgent({ hostRoot: root, s3Dir: join(root, 'engine/s3') });
      const run = await agent.start(documentContent('file-lists'), { full: ['true'] }).done;
      expect(run.status, run.stderr).toBe('Success');
      expect(run.stdout.split('\n').slice(0, -1)).toEqual(
        hostArgv('file-lists', { root, config: join(root, HOST_INSTALL.config), json: true, full: true }),
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('names SSM parameters in camelCase after the flags', () => {
    expect(ssmParamName('approved-digest')).toBe('approvedDigest');
    expect(documentParams('file-lists').map((p) => p.name)).toEqual(['dry-run', 'full']);
  });
});
