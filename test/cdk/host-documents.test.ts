import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  documentContent,
  documentParams,
  documentScript,
  HOST_INSTALL,
  ssmParamName,
} from '../../cdk/constructs/host-documents.ts';
import { HOST_OPERATIONS, type HostOperationName, hostArgv } from '../../shared/operations.ts';
import { PATTERNS } from '../../shared/patterns.ts';
import { type CfnTemplate, resourcesOf, synth } from './synth.ts';

const OPERATIONS = Object.keys(HOST_OPERATIONS) as HostOperationName[];

/** What SSM does with a document's script: paste each value textually over `{{ name }}`. */
function substitute(lines: string[], values: Record<string, string>): string {
  return lines.join('\n').replace(/\{\{ ([A-Za-z]+) \}\}/g, (_, name: string) => values[name] ?? '');
}

/** Runs a document's script with bash, printing the argv releng-host would get, one per line. */
function argvOf(operation: HostOperationName, values: Record<string, string>): string[] {
  const script = substitute(documentScript(operation), values).replace(
    `exec ${HOST_INSTALL.bin}`,
    "printf '%s\\n'",
  );
  const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
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
      ['allowShrink', 'approvedDigest', 'channel', 'dryRun', 'major', 'revision'].sort(),
    );
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

  it('names SSM parameters in camelCase after the flags', () => {
    expect(ssmParamName('approved-digest')).toBe('approvedDigest');
    expect(documentParams('file-lists').map((p) => p.name)).toEqual(['dry-run', 'full']);
  });
});
