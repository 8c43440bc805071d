import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe } from 'vitest';
import { STATE_TABLE } from '../../shared/state-table.ts';

/**
 * moto_server, the wire-level AWS emulator, for contract tests: one server per test file on a
 * loopback port, started in beforeAll and stopped (its whole process group) in afterAll.
 * Suites are skipped, visibly and with the reason in their title, only when moto_server is not
 * on PATH; `npm run setup` installs it, so CI always runs them.
 */

const HOST = '127.0.0.1';
export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export const MOTO_SERVER = onPath('moto_server');
const SKIP_NOTE = ' [SKIPPED: moto_server is not on PATH; `npm run setup` installs moto[server]]';
if (!MOTO_SERVER) console.warn(`contract tests:${SKIP_NOTE}`);

/** A port the kernel just had free (moto_server cannot bind port 0 itself). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Moto {
  endpoint: string;
  /** Empties every service's state (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** moto's own settings, e.g. `{ stepfunctions: { execute_state_machine: true } }`. */
  configure(settings: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** What every SDK client of a contract test gets: the moto endpoint, fake credentials, one region. */
export const clientConfig = (moto: Pick<Moto, 'endpoint'>) => ({
  endpoint: moto.endpoint,
  region: REGION,
  credentials: CREDENTIALS,
  maxAttempts: 1,
});

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

async function startOnce(port: number): Promise<{ child: ChildProcess; stderr: () => string } | string> {
  const child = spawn(MOTO_SERVER!, ['-H', HOST, '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...motoEnv() },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const endpoint = `http://${HOST}:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) return stderr || `moto_server exited with code ${child.exitCode}`;
    if (await answers(endpoint)) return { child, stderr: () => stderr };
    await new Promise((r) => setTimeout(r, 100));
  }
  killGroup(child, 'SIGKILL');
  throw new Error(`moto_server on ${endpoint} did not answer within 20 s: ${stderr}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {}
}

/** Fake credentials and region, also for SDK clients a test does not configure itself. */
export const motoEnv = () => ({
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: 'testing',
  AWS_REGION: REGION,
  AWS_DEFAULT_REGION: REGION,
  MOTO_ACCOUNT_ID: ACCOUNT,
});

export async function startMoto(): Promise<Moto> {
  if (!MOTO_SERVER) throw new Error('moto_server is not on PATH');
  Object.assign(process.env, motoEnv());
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const started = await startOnce(port);
    if (typeof started === 'string') {
      // Someone took the port between our probe and moto's bind: try another.
      if (/address already in use/i.test(started) && attempt < 5) continue;
      throw new Error(`moto_server did not start on ${HOST}:${port}: ${started}`);
    }
    const { child } = started;
    const endpoint = `http://${HOST}:${port}`;
    const post = async (path: string, body?: unknown) => {
      const res = await fetch(`${endpoint}${path}`, {
        method: 'POST',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok) throw new Error(`moto ${path}: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    return {
      endpoint,
      reset: () => post('/moto-api/reset'),
      configure: (settings) => post('/moto-api/config', settings),
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      },
    };
  }
}

/**
 * The file's one moto server: call at the top level of a test file; it starts in the file's
 * beforeAll and its process group is stopped in afterAll. Nothing starts when moto is absent.
 */
export function useMoto(): Moto {
  let server: Moto | undefined;
  beforeAll(async () => {
    if (MOTO_SERVER) server = await startMoto();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const running = () => {
    if (!server) throw new Error('moto_server is not running');
    return server;
  };
  return {
    get endpoint() {
      return running().endpoint;
    },
    reset: () => running().reset(),
    configure: (settings) => running().configure(settings),
    stop: () => running().stop(),
  };
}

/**
 * A contract suite against moto: skipped, with the reason in its title, only when moto_server is
 * absent; otherwise it starts from an empty emulator (POST /moto-api/reset).
 */
export function describeMoto(moto: Moto, title: string, body: () => void): void {
  describe.skipIf(!MOTO_SERVER)(MOTO_SERVER ? title : `${title}${SKIP_NOTE}`, () => {
    beforeAll(() => moto.reset());
    body();
  });
}

/**
 * A fresh state table in moto (`prefix-<random>`) with the key schema of shared/state-table.ts,
 * for the contract suites that run the DynamoDB adapters against it.
 */
export async function createMotoStateTable(
  moto: Pick<Moto, 'endpoint'>,
  prefix: string,
): Promise<{ client: DynamoDBClient; table: string }> {
  const client = new DynamoDBClient(clientConfig(moto));
  const table = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: STATE_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: STATE_TABLE.sortKey, AttributeType: 'S' },
      ],
    }),
  );
  return { client, table };
}
