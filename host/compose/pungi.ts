import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { ComposeKind } from '../../shared/config/schema.ts';

/** Pungi's compose states (productmd): STARTED while running, then one of the three ends. */
export const COMPOSE_STATUSES = ['STARTED', 'FINISHED', 'FINISHED_INCOMPLETE', 'DOOMED'] as const;
export type ComposeStatus = (typeof COMPOSE_STATUSES)[number];

/** Phases the seed's updates scripts skip: updates composes build no ISOs or boot images. */
export const UPDATES_SKIPPED_PHASES = ['buildinstall', 'createiso', 'extra_isos', 'productimg'] as const;

export interface PungiInvocation {
  kind: ComposeKind;
  /** Absolute path of the pungi config in the pungi-rocky checkout (`…/r8.conf`). */
  configFile: string;
  /** `/mnt/compose/8`: new composes go here; updates reuse the older ones found here. */
  composeRoot: string;
  /** `8.7`: produce composes are labelled `RC-8.7`. */
  revision: string;
  /** Resume this existing compose dir in debug mode instead of starting a new one. */
  resumeDir?: string;
}

/**
 * The pungi-koji command line of the seed's scripts (pungi-rocky scripts/produce-8.sh and
 * updates-8-<name>.sh), with one deliberate change: `--no-latest-link`, because pungi swaps
 * the link with rm+ln; the compose operation moves it atomically once STATUS says finished.
 */
export function pungiArgv(inv: PungiInvocation): string[] {
  const argv = ['pungi-koji', `--config=${inv.configFile}`];
  if (inv.kind === 'updates') argv.push(`--old-composes=${inv.composeRoot}`);
  if (inv.resumeDir) argv.push('--debug-mode', `--compose-dir=${inv.resumeDir}`);
  else argv.push(`--target-dir=${inv.composeRoot}`);
  if (inv.kind === 'updates') for (const phase of UPDATES_SKIPPED_PHASES) argv.push(`--skip-phase=${phase}`);
  argv.push('--production');
  argv.push(...(inv.kind === 'produce' ? ['--label', `RC-${inv.revision}`] : ['--no-label']));
  argv.push('--no-latest-link');
  return argv;
}

/** Whether pungi-koji is on PATH: `--engine auto` uses it when it is. */
export function pungiAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, 'pungi-koji')));
}

export async function readComposeStatus(composeDir: string): Promise<ComposeStatus | undefined> {
  let text: string;
  try {
    text = (await readFile(join(composeDir, 'STATUS'), 'utf8')).trim();
  } catch {
    return undefined;
  }
  return (COMPOSE_STATUSES as readonly string[]).includes(text) ? (text as ComposeStatus) : undefined;
}

export function isFinished(status: ComposeStatus | undefined): boolean {
  return status === 'FINISHED' || status === 'FINISHED_INCOMPLETE';
}
