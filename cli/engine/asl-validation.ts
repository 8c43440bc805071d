import aslValidator from 'asl-validator';
import type { EngineDefinitions } from './definitions.ts';

/**
 * aws-local-stepfunctions checks a definition with asl-validator each time it builds a state
 * machine, and asl-validator compiles its JSON schema with ajv every call: about half a second
 * of CPU per execution. Definitions the synth cache holds were checked once, when synthesized;
 * the engine skips the check for those only. Any other definition is checked at every start.
 */

/** What the local engine checks: ARNs and paths are the CDK's and the local adapters' business. */
export const ENGINE_ASL_CHECKS = { checkArn: false, checkPaths: false } as const;

const checked = new WeakSet<object>();

/** Checks each state machine as the engine would; throws naming the machine and its errors. */
export function checkDefinitions(definitions: EngineDefinitions): void {
  for (const [machine, definition] of Object.entries(definitions.machines)) {
    if (!definition || checked.has(definition)) continue;
    // asl-validator writes defaults into what it checks: the definition stays as synthesized.
    const { isValid, errorsText } = aslValidator(structuredClone(definition), ENGINE_ASL_CHECKS);
    if (!isValid)
      throw new Error(
        `State machine definition ${machine} is invalid, see error(s) below:\n ${errorsText('\n')}`,
      );
    checked.add(definition);
  }
}

/** Definitions read back from where checkDefinitions had passed them (the synth cache). */
export function trustChecked(definitions: EngineDefinitions): void {
  for (const definition of Object.values(definitions.machines)) if (definition) checked.add(definition);
}

/** Whether this very definition object was checked (or read back as checked) in this process. */
export function wasChecked(definition: object): boolean {
  return checked.has(definition);
}
