/** Where the bundles live (inside the checkout). */
export const BUNDLE_DIR: string;
/** The TypeScript entry of each command. */
export const ENTRIES: Record<'releng' | 'releng-host', string>;
/** The bundle's entry file when built from the sources as they are now, else undefined. */
export function freshBundle(name: 'releng' | 'releng-host'): string | undefined;
/** Builds one bundle into a new directory, points its stamp at it and returns its entry file. */
export function buildBundle(name: 'releng' | 'releng-host'): Promise<string>;
/** The entry module of a command: its bundle (rebuilt when stale), else the sources through tsx. */
export function loadEntry(name: 'releng' | 'releng-host'): Promise<{ main(argv: string[]): Promise<number> }>;
/** Builds every bundle that is missing or stale. */
export function ensureBundles(): Promise<void>;
