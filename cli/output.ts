/** Where a command writes: text for people, and with --json one JSON object as the last line. */
export interface Output {
  line(text: string): void;
  error(text: string): void;
  json(value: unknown): void;
  /** `--verbose`: host progress lines are printed whole. */
  verbose?: boolean;
  /** Whether line (stdout) or error (stderr) is a terminal: only there may long progress lines be cut. */
  isTerminal?(stream: 'line' | 'error'): boolean;
  /** Told each execution the command starts, so a failure with --json can name it. */
  startedExecution?(name: string): void;
}

export const consoleOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  error: (text) => process.stderr.write(`${text}\n`),
  json: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
  isTerminal: (stream) => (stream === 'line' ? process.stdout : process.stderr).isTTY === true,
};

/** Terminals get progress lines cut at this width unless --verbose; files and pipes get them whole. */
export const TERMINAL_PROGRESS_WIDTH = 200;

/** The progress line as this output shows it. */
export function progressText(out: Output, stream: 'line' | 'error', text: string): string {
  const cut = !out.verbose && out.isTerminal?.(stream) === true;
  return cut ? text.slice(0, TERMINAL_PROGRESS_WIDTH) : text;
}
