/**
 * Which parts of a config a computation read. The synthesized definitions are cached by the
 * config values synthesis actually read, so a config that differs only where synthesis never
 * looks (the demo's fresh signing key, its Apollo port) reuses them, and nobody has to keep a
 * list of "fields that matter" in step with cdk/.
 */

/** One observation: a value (`get`), an object's key list (`keys`), or a key's presence (`has`). */
export type ConfigRead = [kind: 'get' | 'keys' | 'has', path: string[], seen: string];

const encode = (value: unknown): string =>
  value === undefined
    ? 'undefined'
    : value !== null && typeof value === 'object'
      ? 'object'
      : JSON.stringify(value);

function keysOf(target: object): string {
  return JSON.stringify(Reflect.ownKeys(target).map(String));
}

/**
 * A read-only view of `config` that records every property read, key listing and `in` test
 * made through it (nested objects and arrays included). Writes through it are refused.
 */
export function recordReads<T extends object>(config: T): { view: T; reads: () => ConfigRead[] } {
  const reads = new Map<string, ConfigRead>();
  const note = (read: ConfigRead) => reads.set(JSON.stringify(read.slice(0, 2)), read);
  const views = new WeakMap<object, object>();
  const wrap = (target: object, path: string[]): object => {
    const known = views.get(target);
    if (known) return known;
    const view = new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver);
        // Symbols (Symbol.iterator…) and prototype methods (Array#map) are the same for every config.
        if (typeof key === 'symbol' || (typeof value === 'function' && !Object.hasOwn(t, key))) return value;
        note(['get', [...path, key], encode(value)]);
        return value !== null && typeof value === 'object' ? wrap(value, [...path, key]) : value;
      },
      has(t, key) {
        const present = Reflect.has(t, key);
        if (typeof key !== 'symbol') note(['has', [...path, key], String(present)]);
        return present;
      },
      ownKeys(t) {
        note(['keys', path, keysOf(t)]);
        return Reflect.ownKeys(t);
      },
      set() {
        throw new TypeError('the config is read-only during synthesis');
      },
      defineProperty() {
        throw new TypeError('the config is read-only during synthesis');
      },
      deleteProperty() {
        throw new TypeError('the config is read-only during synthesis');
      },
    });
    views.set(target, view);
    return view;
  };
  return { view: wrap(config, []) as T, reads: () => [...reads.values()] };
}

/** Whether `config` gives every recorded read the answer it gave when recorded. */
export function sameReads(config: object, reads: readonly ConfigRead[]): boolean {
  return reads.every(([kind, path, seen]) => {
    const parent = path.length ? at(config, path.slice(0, -1)) : undefined;
    const key = path[path.length - 1];
    if (kind === 'keys') {
      const target = at(config, path);
      return target !== null && typeof target === 'object' && keysOf(target) === seen;
    }
    if (parent === null || typeof parent !== 'object' || key === undefined) return false;
    if (kind === 'has') return String(Reflect.has(parent, key)) === seen;
    return encode(Reflect.get(parent, key)) === seen;
  });
}

function at(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Reflect.get(current, key);
  }
  return current;
}
