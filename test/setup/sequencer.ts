import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The folders whose files run whole release cycles or kill loops: a minute or more each, in
 * small files. On a clean checkout vitest has no timings and orders by file size, which started
 * them last, so the run waited on one worker at the end; they go first, and the many short files
 * fill the other workers around them.
 */
const LONG_RUNNING = ['/test/e2e/', '/test/guarantees/', '/test/mirror/'];

const rank = (spec: TestSpecification) => {
  const at = LONG_RUNNING.findIndex((dir) => spec.moduleId.includes(dir));
  return at < 0 ? LONG_RUNNING.length : at;
};

export default class LongRunningFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Array.prototype.sort is stable: within a rank, vitest's own order (cached timings, or size).
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
