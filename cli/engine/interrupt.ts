import type { LocalEngine } from './engine.ts';

/**
 * Ctrl-C (SIGINT) or SIGTERM while `releng` runs executions on the local engine: each is stopped
 * as StopExecution would stop it (execution-cleanup then kills its host command and releases its
 * locks), one line says how to rerun it, and the process exits 130 (143 for SIGTERM).
 */
const engines = new Set<LocalEngine>();
let installed = false;

export function stopOnInterrupt(engine: LocalEngine): void {
  engines.add(engine);
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void interrupt(signal));
}

async function interrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const write = (line: string) => process.stderr.write(`${line}\n`);
  const running = [...engines].flatMap((engine) =>
    engine.runningExecutions().map((name) => ({ engine, name })),
  );
  if (running.length === 0) process.exit(signal === 'SIGINT' ? 130 : 143);
  write(
    `releng: ${signal}: stopping ${running.map((r) => r.name).join(', ')} (a second ${signal} exits at once)`,
  );
  process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  for (const { engine, name } of running) {
    const record = await engine.stop(name, `interrupted by ${signal}`).catch(() => undefined);
    write(
      `releng: ${name} ${record?.status ?? 'stopped'}: its host command was stopped and its locks released; ` +
        `rerun it with: releng rerun ${name} --root ${engine.root}`,
    );
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
