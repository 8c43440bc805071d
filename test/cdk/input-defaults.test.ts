import '../../cli/engine/polyfill.ts';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PIPELINE_IDS } from '../../cdk/stacks/releng-stack.ts';
import type { AslDefinition, AslState } from '../../cli/engine/asl.ts';
import { aslFromTemplate } from '../../cli/engine/template-asl.ts';
import { ComposeRequestV1, PromotionRequestV1, StagingRequestV1 } from '../../shared/messages/index.ts';
import { type CfnTemplate, synth } from './synth.ts';

const composeRequest = {
  version: 1,
  major: '8',
  composes: [{ name: 'Rocky', kind: 'updates' }],
  requestedBy: 'jdoe',
  reason: 'new builds',
  requestId: 'compose-8-1',
};

/** Each state machine with defaults, its input schema and the smallest input that schema takes. */
const MACHINES = [
  { id: PIPELINE_IDS.compose, schema: ComposeRequestV1, minimal: composeRequest },
  {
    id: PIPELINE_IDS.minorRelease,
    schema: ComposeRequestV1,
    minimal: { ...composeRequest, revision: '8.10', composes: [{ name: 'Rocky', kind: 'produce' }] },
  },
  {
    id: PIPELINE_IDS.staging,
    schema: StagingRequestV1,
    minimal: { version: 1, major: '8', requestedBy: 'jdoe' },
  },
] as const;

/** Runs the given states of a definition alone, from `startAt` until one without Next. */
async function runStates(definition: AslDefinition, names: string[], input: unknown): Promise<unknown> {
  const states: Record<string, AslState> = {};
  names.forEach((name, i) => {
    const { Next: _next, End: _end, ...state } = definition.States[name]!;
    states[name] = i + 1 < names.length ? { ...state, Next: names[i + 1] } : { ...state, End: true };
  });
  const machine = new StateMachine({ StartAt: names[0]!, States: states } as never);
  return machine.run(input as never).result;
}

/** The merged input less what only JSONPath needs: helper keys and `''` for an absent optional field. */
function asTheSchemaSeesIt(schema: z.ZodObject, merged: Record<string, unknown>, minimal: object) {
  return Object.fromEntries(
    Object.entries(merged).filter(([key, value]) => {
      const field = schema.shape[key];
      if (!field) return false;
      return !(field instanceof z.ZodOptional && value === '' && !(key in minimal));
    }),
  );
}

let json: CfnTemplate;
beforeAll(() => {
  json = synth().json;
});

describe('state machine input defaults', () => {
  for (const { id, schema, minimal } of MACHINES) {
    it(`${id}: Apply defaults fills in exactly what its input schema does`, async () => {
      const definition = aslFromTemplate(json, id) as unknown as AslDefinition;
      const merged = (await runStates(
        definition,
        ['Apply defaults: hold', 'Apply defaults'],
        minimal,
      )) as Record<string, unknown>;
      expect(asTheSchemaSeesIt(schema, merged, minimal)).toEqual(schema.parse(minimal));
    });
  }

  it('promotion has no defaults to apply: every field of PromotionRequestV1 is required', () => {
    const definition = aslFromTemplate(json, PIPELINE_IDS.promotion) as unknown as AslDefinition;
    expect(Object.keys(definition.States)).not.toContain('Apply defaults');
    for (const field of Object.values(PromotionRequestV1.shape)) {
      expect(field instanceof z.ZodDefault || field instanceof z.ZodOptional).toBe(false);
    }
  });

  it('compose starts staging with an input StagingRequestV1 accepts', async () => {
    const compose = aslFromTemplate(json, PIPELINE_IDS.compose) as unknown as AslDefinition;
    const merged = await runStates(compose, ['Apply defaults: hold', 'Apply defaults'], composeRequest);
    const startStaging = findState(compose, 'Start staging');
    const { Input } = startStaging.Parameters as { Input: Record<string, unknown> };
    const stagingInput = await runStates(
      { StartAt: 'Input', States: { Input: { Type: 'Pass', Parameters: Input } } },
      ['Input'],
      merged,
    );
    expect(StagingRequestV1.parse(stagingInput)).toEqual({
      version: 1,
      major: '8',
      channel: 'stable',
      revision: '',
      sigs: [],
      composes: ['Rocky'],
      requestedBy: 'jdoe',
      requestId: 'compose-8-1',
    });
  });
});

/** A state by name at any depth (the compose's body sits inside a guarded Parallel). */
function findState(definition: AslDefinition, name: string): AslState {
  for (const [key, state] of Object.entries(definition.States)) {
    if (key === name) return state;
    for (const inner of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (!inner) continue;
      try {
        return findState(inner, name);
      } catch {}
    }
  }
  throw new Error(`no state ${name}`);
}
