import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { primaryPackageCount } from './repodata.ts';
import { type ItemizedChange, isTransfer } from './rsync.ts';

/** What a publish would do to production, measured before anything changes. */
export interface ShrinkReport {
  /** Files production has and staging does not (outside repodata). */
  missingFromStaging: number;
  /** A few of them and of the shrunk ones, for the operator. */
  examples: string[];
  /** Files staging would replace with a smaller one. */
  shrunk: number;
  /** Production file count the fractions are taken of. */
  productionFiles: number;
  /** Repos whose metadata would list fewer packages: `BaseOS/x86_64/os: 120 -> 40`. */
  shrinkingRepos: Array<{ repo: string; before: number; after: number }>;
  /** The largest of the file fraction and each repo's package-count fraction. */
  worstFraction: number;
}

/**
 * Measures deletions and shrinkage from the itemized change list (as `rsync --delete` itemizes
 * it, so files production has and staging lacks show as `*deleting`) and from every repo's declared
 * package count. Packages are never deleted from the main tree, but metadata that stops naming
 * them hides them just the same, so both count.
 */
export async function measureShrink(
  changes: ItemizedChange[],
  stagingFiles: number,
  stagingRelease: string,
  productionRelease: string,
  repodataDirs: string[],
): Promise<ShrinkReport> {
  let missingFromStaging = 0;
  let created = 0;
  let shrunk = 0;
  const examples: string[] = [];
  const example = (path: string) => examples.length < 5 && examples.push(path);
  for (const change of changes) {
    if (change.item === '*deleting') {
      if (!change.path.endsWith('/')) {
        missingFromStaging++;
        example(change.path);
      }
      continue;
    }
    if (!isTransfer(change) || change.item[1] !== 'f') continue;
    if (change.item.includes('+++')) {
      created++;
      continue;
    }
    const before =
      change.previousSize ?? (await lstat(join(productionRelease, change.path)).catch(() => undefined))?.size;
    if (before !== undefined && before > change.size) {
      shrunk++;
      example(change.path);
    }
  }
  const productionFiles = Math.max(stagingFiles - created + missingFromStaging, 0);
  const shrinkingRepos: ShrinkReport['shrinkingRepos'] = [];
  let worstFraction = productionFiles ? (missingFromStaging + shrunk) / productionFiles : 0;
  for (const dir of repodataDirs) {
    const repo = dir.replace(/\/?repodata$/, '');
    const [before, after] = await Promise.all([
      primaryPackageCount(join(productionRelease, repo)),
      primaryPackageCount(join(stagingRelease, repo)),
    ]);
    if (before === undefined || after === undefined || after >= before) continue;
    shrinkingRepos.push({ repo, before, after });
    worstFraction = Math.max(worstFraction, (before - after) / before);
  }
  return { missingFromStaging, examples, shrunk, productionFiles, shrinkingRepos, worstFraction };
}

export function describeShrink(report: ShrinkReport): string {
  const parts = [
    `${report.missingFromStaging} file(s) production has are missing from staging`,
    `${report.shrunk} file(s) would shrink (of ${report.productionFiles})`,
    ...report.shrinkingRepos.map((r) => `${r.repo} would list ${r.after} packages instead of ${r.before}`),
  ];
  if (report.examples.length) parts.push(`e.g. ${report.examples.join(', ')}`);
  return parts.join('; ');
}
