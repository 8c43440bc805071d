import { readFileSync } from 'node:fs';
import { EXIT_CODE_LINES } from './exit-codes.ts';
import { type CommandHelp, HELP_PAGES, type OptionHelp } from './help-pages.ts';

/** Options main takes before or after any command; each command's parser takes those it uses. */
export const GLOBAL_OPTIONS: OptionHelp[] = [
  { name: 'root', value: 'DIR', description: 'the local engine root', default: '.releng' },
  { name: 'json', description: 'one JSON object on stdout, also on failure ({"error", "execution"})' },
  {
    name: 'engine',
    value: 'local|aws',
    description: 'the local engine or the deployed stack',
    default: 'local',
  },
  { name: 'config', value: 'FILE', description: 'the releng.config.json', default: './releng.config.json' },
  { name: 'quiet', description: 'no host progress lines' },
  {
    name: 'verbose',
    description: 'host progress lines in full (a terminal otherwise cuts them at 200 characters)',
  },
  {
    name: 'help',
    description: 'this page, or with a command that command’s page (also -h, releng help CMD)',
  },
  { name: 'version', description: 'the releng version' },
];

/** Global options that take a value (so `releng --root DIR status` can move them after the command). */
export const GLOBAL_VALUE_OPTIONS = new Set(
  GLOBAL_OPTIONS.filter((option) => option.value).map((option) => option.name),
);

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function optionLines(options: OptionHelp[]): string[] {
  return options.map((option) => {
    const flag = `  --${option.name}${option.value ? ` ${option.value}` : ''}`;
    const dflt = option.default !== undefined ? ` (default: ${option.default})` : '';
    return `${flag.padEnd(34)} ${option.description}${dflt}`;
  });
}

/** `releng COMMAND [SUBCOMMAND] --help`: usage, what it does, every option with its default, examples. */
export function commandHelp(name: string, subcommand?: string): string | undefined {
  const page: CommandHelp | undefined = HELP_PAGES[name];
  if (!page) return undefined;
  const sub = subcommand ? page.subcommands?.[subcommand] : undefined;
  const shown = sub ?? page;
  const subcommands = !sub && page.subcommands ? Object.keys(page.subcommands) : [];
  return [
    `usage: ${shown.usage}`,
    '',
    shown.summary,
    ...(subcommands.length
      ? ['', `subcommands: ${subcommands.join(', ')} (releng ${name} SUBCOMMAND --help)`]
      : []),
    '',
    'options:',
    ...optionLines(page.options),
    ...optionLines([{ name: 'help', description: 'this page (also -h)' }]),
    '',
    'examples:',
    ...shown.examples.map((example) => `  ${example}`),
    '',
    'exit codes: 0 success, 1 failed, 2 usage or bad input, 3 not published (releng --help)',
  ].join('\n');
}

/** `releng --help`: the commands, the global options and the exit codes. */
export function topLevelHelp(summaries: Record<string, string>): string {
  return [
    'usage: releng [global options] COMMAND [options]',
    '       releng help COMMAND | releng COMMAND --help | releng --version',
    '',
    'commands:',
    ...Object.entries(summaries).map(
      ([name, summary]) => `  ${name.padEnd(14)} ${summary.split(/; |: | \(/)[0]}`,
    ),
    '',
    'global options (also accepted after the command, by the commands that use them):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'exit codes:',
    ...EXIT_CODE_LINES.map((line) => `  ${line}`),
  ].join('\n');
}
