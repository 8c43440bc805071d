import fc from 'fast-check';
import { RE2JS } from 're2js';
import { beforeAll, describe, expect, it } from 'vitest';
import { PATTERNS, type PatternName } from '../../shared/patterns.ts';
import { type CfnTemplate, resourcesOf, synth } from '../cdk/synth.ts';

/**
 * The SSM agent compiles every parameter's allowedPattern with Go's regexp (RE2) before it runs
 * any step of a document; one pattern RE2 cannot compile fails every command of that document.
 * These tests compile each pattern with RE2 (re2js, a port of RE2's parser and matcher) and
 * check that RE2 and JavaScript, which releng-host and zod use, accept the same strings.
 */
const SAMPLES = fc.oneof(
  fc.constantFrom(
    '/',
    '/mnt/koji',
    '/tmp/../etc',
    '..',
    '../x',
    'a/..',
    'a/../b',
    '.hidden/x',
    '...',
    '..a',
    'a//b',
    'a/',
    '/a/./b',
    'x'.repeat(80),
    'Rocky-8-updates-20210721.1',
    '8.10',
    "a'b",
    'a b',
  ),
  fc.string({ unit: fc.constantFrom(...'a.Z/-_9+~^@ :;(),#='.split('')), maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

describe('allowedPattern under RE2, as the SSM agent compiles it', () => {
  let documents: Array<[string, Record<string, { allowedPattern?: string }>]>;
  beforeAll(() => {
    const json: CfnTemplate = synth().json;
    documents = resourcesOf(json, 'AWS::SSM::Document').map(([id, doc]) => [
      id,
      doc.Properties?.Content.parameters ?? {},
    ]);
  });

  it('compiles every parameter pattern of every synthesized document', () => {
    const patterns = documents.flatMap(([id, params]) =>
      Object.entries(params)
        .filter(([, p]) => p.allowedPattern !== undefined)
        .map(([name, p]) => [`${id}.${name}`, p.allowedPattern!] as const),
    );
    expect(patterns.length).toBeGreaterThan(20);
    const broken = patterns.flatMap(([where, pattern]) => {
      try {
        RE2JS.compile(pattern);
        return [];
      } catch (err) {
        return [`${where}: ${(err as Error).message}`];
      }
    });
    expect(broken).toEqual([]);
  });

  it('refuses a lookahead, as Go would (the check is not vacuous)', () => {
    expect(() => RE2JS.compile('^(?!/)[a-z]+$')).toThrow(/Perl syntax/);
  });

  it.each(Object.keys(PATTERNS) as PatternName[])(
    '%s: RE2 and JavaScript accept the same strings',
    (name) => {
      const re2 = RE2JS.compile(PATTERNS[name]);
      const js = new RegExp(PATTERNS[name]);
      fc.assert(
        fc.property(SAMPLES, (value) => re2.matcher(value).find() === js.test(value)),
        { numRuns: 1500, seed: 7 },
      );
    },
  );

  it('keeps `..` out of both path patterns', () => {
    const rel = RE2JS.compile(PATTERNS.relativePath);
    const abs = RE2JS.compile(PATTERNS.absolutePath);
    for (const bad of ['..', '../etc', 'a/..', 'a/../b', '/x'])
      expect(rel.matcher(bad).find(), bad).toBe(false);
    for (const good of ['a', 'a/b.c', '.hidden/x', '...', '..a/b', 'a/'])
      expect(rel.matcher(good).find(), good).toBe(true);
    for (const bad of ['', '..', '/..', '/tmp/../etc', 'relative', '/a/..'])
      expect(abs.matcher(bad).find(), bad).toBe(false);
    for (const good of ['/', '/mnt/koji', '/a/.b/...', '/srv/'])
      expect(abs.matcher(good).find(), good).toBe(true);
  });
});
