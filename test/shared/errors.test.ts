import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config/load.ts';
import { errnoCode, errorMessage, errorName, HELP_HINT, isErrno, RelengError } from '../../shared/errors.ts';
import { EXIT } from '../../shared/exit-codes.ts';
import { ParamError } from '../../shared/operations.ts';

describe('RelengError', () => {
  it('prints tool and step once, even when the message already starts with the step', () => {
    const err = new ParamError('sync-to-prod: --major "x" is not a valid major');
    err.step = 'sync-to-prod';
    expect(err.describe('releng-host')).toBe('releng-host sync-to-prod: --major "x" is not a valid major');
    expect(err.exitCode).toBe(EXIT.USAGE);
  });
  it('gives a hint the command it names, which only the entry point knows', () => {
    const err = new RelengError('unknown option --zz', { hint: HELP_HINT, step: 'demo' });
    expect(err.describe('releng')).toBe(
      'releng demo: unknown option --zz (releng demo --help lists its options)',
    );
    expect(new RelengError('gone', { hint: 'releng unlock frees it' }).describe('releng')).toBe(
      'releng: gone (releng unlock frees it)',
    );
  });
  it('is the base of the errors operators act on, which keep their own names', () => {
    const err = new ConfigError('releng.config.json', [{ key: 'a', message: 'bad', value: 1 }]);
    expect(err).toBeInstanceOf(RelengError);
    expect(err.name).toBe('ConfigError');
    expect(err.exitCode).toBe(EXIT.FAILED);
  });
});

describe('reading what was thrown', () => {
  it('takes the errno code of a real failed system call', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'releng-errors-')), 'missing');
    const err = await readFile(missing).catch((e: unknown) => e);
    expect(isErrno(err, 'ENOENT')).toBe(true);
    expect(isErrno(err, 'EEXIST')).toBe(false);
    expect(errnoCode(err)).toBe('ENOENT');
    expect(errorMessage(err)).toMatch(/no such file or directory/);
  });
  it('copes with things that are not Errors', () => {
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage({ message: 'from another realm' })).toBe('from another realm');
    expect(errorName(undefined)).toBe('');
    expect(errnoCode(42)).toBeUndefined();
    expect(isErrno(null, 'ENOENT')).toBe(false);
  });
});
