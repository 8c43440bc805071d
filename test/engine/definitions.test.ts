import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allStates, parseTaskResource, taskStates, UnservedResourceError } from '../../cli/engine/asl.ts';
import { definitionsFromTemplate, type EngineDefinitions } from '../../cli/engine/definitions.ts';
import { LocalEngine } from '../../cli/engine/engine.ts';
import { toDot, toMermaid } from '../../cli/engine/graph.ts';
import { localDefinitions } from '../../cli/engine/synth.ts';
import { execFile } from '../../host/framework/exec.ts';
import { loadConfig } from '../../shared/config/load.ts';

let definitions: EngineDefinitions;
let root: string;
let engine: LocalEngine;

beforeAll(async () => {
  definitions = await localDefinitions(loadConfig(undefined, {}));
  root = await mkdtemp(join(tmpdir(), 'releng-defs-'));
  engine = new LocalEngine({ root, definitions });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the CDK app as the engine sees it', () => {
  it('has the four pipelines', () => {
    expect(Object.keys(definitions.machines).sort()).toEqual([
      'compose',
      'minor-release',
      'promotion',
      'staging',
    ]);
  });

  it('serves every Task resource of every state machine', () => {
    const unserved: string[] = [];
    for (const [machine, definition] of Object.entries(definitions.machines)) {
      for (const task of taskStates(definition!)) {
        try {
          engine.adapterFor(task.resource, task.name);
        } catch (err) {
          unserved.push(`${machine}/${task.name}: ${(err as Error).message}`);
        }
      }
    }
    expect(unserved).toEqual([]);
  });

  it('maps every SSM document, Lambda and state machine a Task names back to what serves it', () => {
    const index = definitions.index;
    for (const definition of Object.values(definitions.machines)) {
      for (const task of taskStates(definition!)) {
        const params = task.state.Parameters ?? {};
        const named = (value: unknown, table: Record<string, unknown>) =>
          Object.keys(table).some((id) => String(value).split(/[:/]/).includes(id));
        if (task.resource.action === 'sendCommand')
          expect(named(params.DocumentName, index.operations), task.name).toBe(true);
        if (task.resource.service === 'lambda')
          expect(named(params.FunctionName, index.functions), task.name).toBe(true);
        if (task.resource.service === 'states')
          expect(named(params.StateMachineArn, index.stateMachines), task.name).toBe(true);
      }
    }
  });

  it('has one state table, the one every local port shares, keyed as shared/state-table.ts says', () => {
    expect(Object.values(definitions.index.tables)).toEqual([['pk', 'sk']]);
    const table = (id: string) => ({
      [id]: {
        Type: 'AWS::DynamoDB::Table',
        Properties: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] },
      },
    });
    expect(() => definitionsFromTemplate({ Resources: { ...table('StateA'), ...table('StateB') } })).toThrow(
      'the local engine keeps one state table; this app declares 2: StateA, StateB',
    );
  });

  it('refuses a resource it cannot serve, naming the state', () => {
    const resource = parseTaskResource('arn:aws:states:::glue:startJobRun.sync');
    expect(() => engine.adapterFor(resource, 'Run Glue')).toThrow(UnservedResourceError);
    expect(() => engine.adapterFor(resource, 'Run Glue')).toThrow(/Run Glue: glue:startJobRun/);
  });

  it('draws every state in Mermaid, and Graphviz accepts the DOT', async () => {
    const compose = definitions.machines.compose!;
    const mermaid = toMermaid(compose);
    for (const { name } of allStates(compose)) expect(mermaid).toContain(name.replaceAll('"', "'"));
    const svg = await execFile(['dot', '-Tsvg'], { input: toDot(compose, 'compose') });
    expect(svg.stdout).toContain('<svg');
  });
});
