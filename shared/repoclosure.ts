import type { MajorSettings } from './config/schema.ts';
import { allRepos } from './release.ts';

/**
 * Which repos verify-staging closes together, per arch. A client enables the major's base repos
 * (`repoclosureBase`: BaseOS and AppStream) by default and every other repo (PowerTools/CRB, HA,
 * RT, extras, plus, devel, …) on top of them, one at a time. So the rule is:
 *   - the base repos present for the arch form one set, and all their packages are checked;
 *   - each other repo present forms a set with the base repos, and only its own packages are
 *     checked (the base was checked on its own): an add-on may need the base, never another add-on.
 */
export interface ClosureSet {
  arch: string;
  /** Repos whose packages the solver may use. */
  repos: string[];
  /** Repos whose packages must have every requirement met (dnf repoclosure --check). */
  check: string[];
}

/** 32-bit packages an x86_64 repo carries for multilib; checked with the repo's own arch. */
const MULTILIB: Record<string, string[]> = { x86_64: ['i686'] };

/** The package arches checked in a set of `arch`: the arch, its multilib arches and noarch. */
export function checkedArches(arch: string): string[] {
  return [arch, ...(MULTILIB[arch] ?? []), 'noarch'];
}

/** The sets of one arch, given the repo names that have an `<repo>/<arch>/os` tree. */
export function closureSets(settings: MajorSettings, arch: string, present: string[]): ClosureSet[] {
  const have = new Set(present);
  const base = settings.repoclosureBase.filter((r) => have.has(r));
  const configured = allRepos(settings);
  const others = [
    ...configured.filter((r) => have.has(r) && !base.includes(r)),
    ...present.filter((r) => !configured.includes(r)).sort(),
  ];
  const sets: ClosureSet[] = [];
  if (base.length) sets.push({ arch, repos: base, check: base });
  for (const repo of others) sets.push({ arch, repos: [...base, repo], check: [repo] });
  return sets;
}

/** A set for messages: `x86_64 extras (with BaseOS, AppStream)`. */
export function describeSet(set: ClosureSet): string {
  const providers = set.repos.filter((r) => !set.check.includes(r));
  return `${set.arch} ${set.check.join('+')}${providers.length ? ` (with ${providers.join(', ')})` : ''}`;
}
