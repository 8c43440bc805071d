import { describe, expect, it } from 'vitest';
import { type Options, UsageError } from '../../cli/args.ts';
import { HELP_PAGES } from '../../cli/help-pages.ts';
import { COMMANDS, main } from '../../cli/main.ts';
import type { Output } from '../../cli/output.ts';
import { main as hostMain } from '../../host/main.ts';
import { HOST_OPERATIONS, type HostOperationName, paramsOf } from '../../shared/operations.ts';

function capture() {
  const lines: string[] = [];
  const errors: string[] = [];
  const out: Output = {
    line: (t) => lines.push(t),
    error: (t) => errors.push(t),
    json: (v) => lines.push(JSON.stringify(v)),
  };
  return { out, lines, errors, text: () => lines.join('\n') };
}

async function releng(...argv: string[]) {
  const c = capture();
  const code = await main(argv, c.out);
  return { code, ...c };
}

/** The options a command's parser accepts: an option it cannot take makes it name them all. */
async function acceptedOptions(name: string): Promise<Options> {
  const { out } = capture();
  const err = await COMMANDS[name]!.run(['--zz-not-an-option'], out).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${name} refuses --zz-not-an-option`).toBeInstanceOf(UsageError);
  expect((err as UsageError).unknownOption).toBe('--zz-not-an-option');
  return (err as UsageError).accepted!;
}

const commands = Object.keys(COMMANDS);

describe('releng help pages: one table, checked against what main registers and each parser accepts', () => {
  it.each(commands)(
    '%s has a page listing exactly the options its parser accepts, with their defaults',
    async (name) => {
      const page = HELP_PAGES[name];
      expect(page, `cli/help-pages.ts has no page for ${name}`).toBeDefined();
      const accepted = await acceptedOptions(name);
      const listed = new Map(page!.options.map((option) => [option.name, option]));
      expect([...listed.keys()].sort()).toEqual(Object.keys(accepted).sort());
      for (const [option, spec] of Object.entries(accepted)) {
        if (spec.type === 'string' && typeof spec.default === 'string')
          expect(listed.get(option)!.default, `${name} --${option} default`).toBe(spec.default);
        expect(listed.get(option)!.value === undefined, `${name} --${option} is a flag`).toBe(
          spec.type === 'boolean',
        );
      }
      expect(page!.examples.length).toBeGreaterThan(0);
      for (const example of page!.examples)
        expect(example).toMatch(new RegExp(`^(cat .* \\| )?releng ${name}\\b`));
    },
  );

  it.each(commands)('releng %s --help, -h and releng help CMD print its page and exit 0', async (name) => {
    const long = await releng(name, '--help');
    expect(long.code).toBe(0);
    expect(long.errors).toEqual([]);
    const text = long.text();
    expect(text).toMatch(new RegExp(`^usage: releng ${name}\\b`));
    expect(text).toContain('examples:');
    for (const option of HELP_PAGES[name]!.options) expect(text).toContain(`--${option.name}`);
    for (const option of HELP_PAGES[name]!.options.filter((o) => o.default !== undefined))
      expect(text).toContain(`(default: ${option.default})`);
    expect((await releng(name, '-h')).text()).toBe(text);
    expect((await releng('help', name)).text()).toBe(text);
    // --help wins over everything else on the line, including other options' values.
    expect((await releng(name, '--root', '/nonexistent', '--help')).code).toBe(0);
  });

  it('subcommands have pages: releng config check --help, releng intake koji -h', async () => {
    const check = await releng('config', 'check', '--help');
    expect(check.code).toBe(0);
    expect(check.text()).toMatch(/^usage: releng config check \[FILE\]/);
    expect((await releng('help', 'config', 'show')).text()).toMatch(/^usage: releng config show/);
    expect((await releng('intake', 'koji', '-h')).text()).toMatch(/^usage: releng intake koji FILE\|-/);
  });

  it('releng --help names every command, the global options and the exit codes', async () => {
    const top = await releng('--help');
    expect(top.code).toBe(0);
    const text = top.text();
    for (const name of commands) expect(text).toMatch(new RegExp(`^  ${name} `, 'm'));
    for (const option of ['--root', '--json', '--engine', '--config', '--quiet', '--verbose', '--version'])
      expect(text).toContain(option);
    expect(text).toMatch(/^ {2}0 {2}success$/m);
    expect(text).toMatch(/^ {2}2 {2}usage or bad input/m);
    expect(text).toMatch(/^ {2}3 {2}not published \(rejected, timed out, nothing approved\)$/m);
    expect((await releng('help')).text()).toBe(text);
    // Without a command it is a usage mistake: the page goes to stderr, exit 2.
    const bare = await releng();
    expect(bare.code).toBe(2);
    expect(bare.errors.join('\n')).toBe(text);
  });

  it('releng help on an unknown command is one line and exit 2', async () => {
    const run = await releng('help', 'frobnicate');
    expect(run.code).toBe(2);
    expect(run.errors).toEqual(['releng help: unknown command "frobnicate"; run releng --help']);
  });
});

describe('releng-host OPERATION --help: every catalogue parameter, its default, an example', () => {
  const operations = Object.keys(HOST_OPERATIONS) as HostOperationName[];
  it.each(operations)('releng-host %s --help and -h', async (name) => {
    for (const flag of ['--help', '-h']) {
      const lines: string[] = [];
      const errors: string[] = [];
      const code = await hostMain([name, flag], {
        stdout: (l) => lines.push(l),
        stderr: (l) => errors.push(l),
      });
      expect(code).toBe(0);
      expect(errors).toEqual([]);
      const text = lines.join('\n');
      expect(text).toMatch(new RegExp(`^usage: releng-host ${name} `));
      for (const param of paramsOf(name)) {
        const row = text
          .split('\n')
          .find((l) => l.startsWith(`  --${param.name} `) || l === `  --${param.name}`);
        expect(row, `--${param.name} in ${name}'s page`).toBeDefined();
        expect(row).toContain(param.description);
        // Each row says what applies without it: required, or a default.
        expect(row).toMatch(/\(required\)|\(default[ :]/);
      }
      const example = text.split('\n').find((l) => l.startsWith(`  releng-host ${name} `));
      expect(example).toBeDefined();
      for (const param of paramsOf(name).filter((p) => p.required))
        expect(example).toContain(`--${param.name} `);
    }
  });

  it('an unknown option is one line naming the operation and the option, exit 2', async () => {
    for (const bad of ['--bogus', '-x']) {
      const errors: string[] = [];
      const code = await hostMain(['file-lists', '--root', '/tmp', bad], {
        stdout: () => {},
        stderr: (l) => errors.push(l),
      });
      expect(code).toBe(2);
      expect(errors).toEqual([
        `releng-host file-lists: file-lists: unknown option ${bad} (releng-host file-lists --help lists its options)`.replace(
          'file-lists: file-lists:',
          'file-lists:',
        ),
      ]);
    }
  });
});
