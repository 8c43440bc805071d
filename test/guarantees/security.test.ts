import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Guarantee 4's second half, checked on the source: nothing from outside reaches a shell.
 * Every process the product starts is started by `spawn` with an argument array: no
 * `child_process.exec`/`execSync` (they take a shell string), no `shell: true`, no
 * `sh -c`/`bash -c`. A new file that breaks this fails here, naming file and line.
 */
const REPO = join(import.meta.dirname, '..', '..');
const PRODUCT_DIRS = ['host', 'functions', 'shared', 'cli', 'cdk', 'bin'];

function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mjs|js)$/.test(e.name))
    .map((e) => relative(REPO, join(e.parentPath, e.name)));
}

const FILES = PRODUCT_DIRS.flatMap(sources);

/** `file:line: text` of every line matching `pattern`. */
function findings(pattern: RegExp, files = FILES): string[] {
  const found: string[] = [];
  for (const file of files) {
    readFileSync(join(REPO, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('no input reaches a shell', () => {
  it('scans the product source (host, functions, shared, cli, cdk, bin)', () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(FILES).toContain('host/framework/exec.ts');
  });

  it('imports only spawn from child_process, never exec, execSync or execFileSync', () => {
    const imports = FILES.flatMap((file) =>
      [
        ...readFileSync(join(REPO, file), 'utf8').matchAll(
          /import\s*\{([^}]*)\}\s*from\s*'(?:node:)?child_process'/g,
        ),
      ].map((m) => `${file}: ${m[1]!.replace(/\s+/g, ' ').trim()}`),
    );
    expect(imports.length).toBeGreaterThan(0);
    for (const line of imports) expect(line).toMatch(/: (type ChildProcess, )?spawn$/);
    expect(
      findings(/require\(['"](node:)?child_process['"]\)|import \* as \w+ from '(node:)?child_process'/),
    ).toEqual([]);
  });

  it('never sets shell: true and never runs sh -c or bash -c', () => {
    expect(findings(/\bshell\s*:\s*(true|['"`])/)).toEqual([]);
    // One exception, by design: the local SSM agent runs a document's aws:runShellScript step as
    // the agent on a host does. Its text is the synthesized document's own, and every value in it
    // passed the parameter's RE2 allowedPattern first (test/agent/local-agent.test.ts).
    const shells = findings(/spawn\(\s*['"`](\/bin\/|\/usr\/bin\/)?(ba|z|da)?sh['"`]/);
    expect(shells.map((f) => f.split(':')[0])).toEqual(['cli/agent/run-shell-script.ts']);
    expect(shells[0]).toContain("spawn('bash', ['--posix', script]");
    expect(findings(/['"`](ba|z|da)?sh['"`]\s*,\s*\[?\s*['"`]-c['"`]/)).toEqual([]);
  });

  it('starts processes in the host only through host/framework/exec.ts (argv arrays), or streaming readers with literal programs', () => {
    const spawns = findings(
      /\bspawn\(/,
      FILES.filter((f) => f.startsWith('host/')),
    );
    // The two readers stream find's and a decompressor's output; their program and arguments
    // are literals or come from a fixed table, never from input.
    expect(spawns.map((s) => s.split(':')[0]).sort()).toEqual([
      'host/filelist/create-filelist.ts',
      'host/framework/exec.ts',
      'host/publish/repodata.ts',
    ]);
  });
});
