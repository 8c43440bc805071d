import { writeFile } from 'node:fs/promises';
import { execFile } from '../../host/framework/exec.ts';
import { loadConfig } from '../../shared/config/load.ts';
import { errorMessage } from '../../shared/errors.ts';
import type { StateMachineName } from '../../shared/ports.ts';
import { parse, UsageError } from '../args.ts';
import { STATE_MACHINE_IDS } from '../engine/definitions.ts';
import { toDot, toMermaid } from '../engine/graph.ts';
import { localDefinitions } from '../engine/synth.ts';
import type { Output } from '../output.ts';

/**
 * `releng graph MACHINE [--format mermaid|dot|svg] [--output FILE]`: the state machine as the
 * CDK app defines it, drawn. svg needs Graphviz's `dot`.
 */
export async function graphCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    format: { type: 'string', default: 'mermaid' },
    output: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const [machine] = positionals;
  const machines = Object.keys(STATE_MACHINE_IDS);
  if (!machine || !machines.includes(machine)) {
    throw new UsageError(
      `graph needs a state machine: one of ${machines.join(', ')} (got ${JSON.stringify(machine)})`,
    );
  }
  if (!['mermaid', 'dot', 'svg'].includes(values.format)) {
    throw new UsageError(`--format ${JSON.stringify(values.format)}: expected mermaid, dot or svg`);
  }
  const definition = (await localDefinitions(loadConfig(values.config))).machines[
    machine as StateMachineName
  ];
  if (!definition) throw new UsageError(`the CDK app has no ${machine} state machine`);
  let text = values.format === 'mermaid' ? toMermaid(definition) : toDot(definition, machine);
  if (values.format === 'svg') {
    try {
      text = (await execFile(['dot', '-Tsvg'], { input: text })).stdout;
    } catch (err) {
      throw new Error(`--format svg needs Graphviz (apt-get install graphviz): ${errorMessage(err)}`);
    }
  }
  if (values.output) {
    await writeFile(values.output, text);
    if (values.json) out.json({ machine, format: values.format, output: values.output });
    else out.line(`wrote ${values.output}`);
  } else if (values.json) out.json({ machine, format: values.format, text });
  else out.line(text.trimEnd());
  return 0;
}
