import { describe, expect, it } from 'vitest';
import type { AslDefinition } from '../../cli/engine/asl.ts';
import { toDot, toMermaid } from '../../cli/engine/graph.ts';
import { localDefinitions } from '../../cli/engine/synth.ts';
import { loadConfig } from '../../shared/config/load.ts';

/** Every number a drawing shows must be one the state machine holds: no label is cut. */
describe('releng graph labels', () => {
  it('shows the real promotion deadlines whole (sync-to-prod: 46800 s)', async () => {
    const promotion = (await localDefinitions(loadConfig(undefined, {}))).machines.promotion!;
    const mermaid = toMermaid(promotion);
    const dot = toDot(promotion, 'promotion');
    for (const text of [mermaid, dot]) {
      expect(text).toContain('Sync to production: run (timeout 46800 s, heartbeat 1800 s)');
      expect(text).not.toMatch(/timeout 4 s/);
    }
  }, 120_000);

  it('never cuts a long condition: the compared number stays whole', () => {
    const variable = '$.release.promotion.deadlines.syncToProductionSecondsRemaining';
    const definition: AslDefinition = {
      StartAt: 'Enough time?',
      States: {
        'Enough time?': {
          Type: 'Choice',
          Choices: [{ Variable: variable, NumericGreaterThanEquals: 46800, Next: 'Go' }],
          Default: 'Stop',
        },
        Go: { Type: 'Succeed' },
        Stop: { Type: 'Fail' },
      },
    };
    expect(toMermaid(definition)).toContain(`${variable} NumericGreaterThanEquals 46800`);
    expect(toDot(definition, 't')).toContain(`${variable} NumericGreaterThanEquals 46800`);
  });
});
