import { applyNvrChanges } from '../../shared/intake/names.ts';
import type {
  ExecutionStarter,
  LaneCompose,
  LaneState,
  LaneStateStore,
  StateMachineName,
} from '../../shared/ports.ts';
import { JsonStore } from './json-store.ts';

export interface RecordedExecution {
  stateMachine: StateMachineName;
  name: string;
  input: unknown;
  startedAt: string;
}

const keyOf = (stateMachine: StateMachineName, name: string) => `${stateMachine}:${name}`;

/**
 * An ExecutionStarter for when no engine runs the state machines: it records each start in
 * `executions.json`, once per name, as Step Functions would refuse a second start. Recorded
 * executions never run, so it reports no status.
 */
export class RecordingExecutionStarter implements ExecutionStarter {
  private readonly store: JsonStore<Record<string, RecordedExecution>>;

  constructor(
    file: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.store = new JsonStore(file, () => ({}));
  }

  start(stateMachine: StateMachineName, name: string, input: unknown) {
    const executionId = keyOf(stateMachine, name);
    return this.store.update((all) => {
      if (all[executionId]) return { executionId, started: false };
      all[executionId] = { stateMachine, name, input, startedAt: this.now().toISOString() };
      return { executionId, started: true };
    });
  }

  async list(): Promise<RecordedExecution[]> {
    return Object.values(await this.store.read());
  }
}

/** --dry-run: remembers what would start, in memory only; names the real starter knows exist. */
export class DryRunExecutionStarter implements ExecutionStarter {
  readonly wouldStart: Array<{ stateMachine: StateMachineName; name: string; input: unknown }> = [];

  constructor(private readonly real?: ExecutionStarter) {}

  async start(stateMachine: StateMachineName, name: string, input: unknown) {
    const executionId = keyOf(stateMachine, name);
    const exists =
      this.wouldStart.some((e) => e.stateMachine === stateMachine && e.name === name) ||
      (await this.real?.status?.(stateMachine, name)) !== undefined;
    if (!exists) this.wouldStart.push({ stateMachine, name, input });
    return { executionId, started: !exists };
  }

  async status(stateMachine: StateMachineName, name: string) {
    if (this.wouldStart.some((e) => e.stateMachine === stateMachine && e.name === name))
      return 'RUNNING' as const;
    return this.real?.status?.(stateMachine, name);
  }
}

/** --dry-run lane state: reads the real store once per lane, keeps every change in memory. */
export class DryRunLaneStateStore implements LaneStateStore {
  private readonly lanes = new Map<string, LaneState>();

  constructor(private readonly real: LaneStateStore) {}

  async get(laneId: string): Promise<LaneState | undefined> {
    if (!this.lanes.has(laneId)) {
      const stored = await this.real.get(laneId);
      if (stored) this.lanes.set(laneId, structuredClone(stored));
    }
    return this.lanes.get(laneId);
  }

  private async state(laneId: string): Promise<LaneState> {
    const state = (await this.get(laneId)) ?? { laneId, nvrs: [], started: [] };
    this.lanes.set(laneId, state);
    return state;
  }

  async applyTagChanges(laneId: string, add: string[], remove: string[]): Promise<LaneState> {
    const state = await this.state(laneId);
    applyNvrChanges(state.nvrs, add, remove);
    return { ...state, nvrs: [...state.nvrs], started: [...state.started] };
  }

  async recordStarted(laneId: string, compose: LaneCompose): Promise<void> {
    (await this.state(laneId)).started.push(compose);
  }

  /** A dry run records no requesters; it reads the real ones. */
  async addRequesters(): Promise<void> {}

  requesters(executionName: string): Promise<string[]> {
    return this.real.requesters(executionName);
  }

  async recordSucceeded(laneId: string, nvrDigest: string): Promise<void> {
    (await this.state(laneId)).succeededDigest = nvrDigest;
  }
}
