import { PATTERNS } from './patterns.ts';

/**
 * Compose IDs as pungi/productmd form them:
 * `<short>-<version>[-<type> unless ga]-<YYYYMMDD><suffix>.<respin>`,
 * e.g. `Rocky-8-updates-20210721.1` (the second compose of that day). Rocky 9's composes
 * (empanadas) put the compose time there instead: `Rocky-9.1-20221115.163904`.
 */
export interface ComposeIdParts {
  short: string;
  version: string;
  /** `ga` is omitted from the ID; `updates`, `updates-testing`, … are written. */
  type: string;
  /** `YYYYMMDD` */
  date: string;
  /** Production composes have none; nightly `n`, test `t`. */
  label: 'production' | 'nightly' | 'test';
  respin: number;
  /** `HHMMSS` when the ID carries a time (Rocky 9) where pungi writes the respin; respin is then its number. */
  time?: string;
}

export class ComposeIdError extends Error {
  override readonly name = 'ComposeIdError';
}

const LABEL_SUFFIX = { production: '', nightly: '.n', test: '.t' } as const;

const ID_REGEX =
  /^(?<short>[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z][A-Za-z0-9]*)*)-(?<version>[0-9]+(?:\.[0-9]+)*)(?:-(?<type>[a-z]+(?:-[a-z]+)*))?-(?<date>[0-9]{8})(?<suffix>\.n|\.t)?\.(?:(?<time>[0-9]{6})|(?<respin>[0-9]{1,4}))$/;

function checkDate(date: string, id: string): void {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(4, 6));
  const d = Number(date.slice(6, 8));
  const asDate = new Date(Date.UTC(y, m - 1, d));
  if (asDate.getUTCFullYear() !== y || asDate.getUTCMonth() !== m - 1 || asDate.getUTCDate() !== d) {
    throw new ComposeIdError(`compose ID ${JSON.stringify(id)} has an impossible date ${date}`);
  }
}

function checkTime(time: string, id: string): void {
  const [h, m, s] = [time.slice(0, 2), time.slice(2, 4), time.slice(4, 6)].map(Number);
  if (h! > 23 || m! > 59 || s! > 59)
    throw new ComposeIdError(`compose ID ${JSON.stringify(id)} has an impossible time ${time}`);
}

/** `20210721` in UTC. */
export function composeDate(when: Date): string {
  return when.toISOString().slice(0, 10).replaceAll('-', '');
}

export function formatComposeId(parts: ComposeIdParts): string {
  const typePart = parts.type === 'ga' ? '' : `-${parts.type}`;
  const id = `${parts.short}-${parts.version}${typePart}-${parts.date}${LABEL_SUFFIX[parts.label]}.${parts.time ?? parts.respin}`;
  parseComposeId(id); // refuse to form what we could not read back
  return id;
}

export function parseComposeId(id: string): ComposeIdParts {
  const groups = ID_REGEX.exec(id)?.groups;
  if (!groups || !new RegExp(PATTERNS.composeId).test(id)) {
    throw new ComposeIdError(
      `${JSON.stringify(id)} is not a compose ID (<short>-<version>[-<type>]-<YYYYMMDD>.<respin>)`,
    );
  }
  checkDate(groups.date!, id);
  if (groups.time) checkTime(groups.time, id);
  const label = groups.suffix === '.n' ? 'nightly' : groups.suffix === '.t' ? 'test' : 'production';
  return {
    short: groups.short!,
    version: groups.version!,
    type: groups.type ?? 'ga',
    date: groups.date!,
    label,
    respin: Number(groups.time ?? groups.respin),
    ...(groups.time ? { time: groups.time } : {}),
  };
}

/**
 * Pungi's respin: 0 for the first compose of the day, then one more than the highest
 * existing respin of the same short, version, type, date and label. `existing` is any list
 * of names (compose dir entries); names that are not compose IDs are ignored.
 */
export function nextComposeId(base: Omit<ComposeIdParts, 'respin'>, existing: Iterable<string>): string {
  let next = 0;
  for (const name of existing) {
    let parts: ComposeIdParts;
    try {
      parts = parseComposeId(name);
    } catch {
      continue;
    }
    if (
      parts.time === undefined && // a time-stamped (Rocky 9) ID is no respin to count on from
      parts.short === base.short &&
      parts.version === base.version &&
      parts.type === base.type &&
      parts.date === base.date &&
      parts.label === base.label
    ) {
      next = Math.max(next, parts.respin + 1);
    }
  }
  return formatComposeId({ ...base, respin: next });
}
