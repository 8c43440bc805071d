// Process warnings the user did not cause and cannot act on, dropped by name (every other
// warning still prints): the AWS SDK's notice that its releases after January 2027 need node 22
// printed 8 lines before every `--engine aws` command.
const UNWANTED = ['NodeVersionSupportWarning'];

/** Whether a warning (as process.emitWarning got it) is one of the unwanted ones. */
export function isUnwantedWarning(warning, options) {
  const type = typeof options === 'string' ? options : options?.type;
  const name = warning instanceof Error ? warning.name : type;
  const text = warning instanceof Error ? warning.message : String(warning);
  return UNWANTED.some((unwanted) => name === unwanted || text.startsWith(`${unwanted}:`));
}

/** Drops the unwanted warnings before node prints them; idempotent. */
export function quietUnwantedWarnings() {
  if (process.emitWarning.quietsUnwanted) return;
  const emitWarning = process.emitWarning.bind(process);
  const filtered = (warning, ...rest) => {
    if (isUnwantedWarning(warning, rest[0])) return;
    emitWarning(warning, ...rest);
  };
  filtered.quietsUnwanted = true;
  process.emitWarning = filtered;
}
