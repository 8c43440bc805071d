/** Whether a warning (as process.emitWarning got it) is one the user did not cause. */
export function isUnwantedWarning(warning: string | Error, options?: unknown): boolean;
/** Drops those warnings before node prints them; every other warning still prints. */
export function quietUnwantedWarnings(): void;
