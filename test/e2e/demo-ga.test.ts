import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../../cli/demo/demo.ts';
import { main } from '../../cli/main.ts';
import { execFile } from '../../host/framework/exec.ts';
import { main as hostMain } from '../../host/main.ts';
import { captureOutput as capture } from '../engine/cli-output.ts';

/**
 * GA day as an engineer runs it: `releng demo --ga --release 8.10 --yes`, the minor-release
 * machine from the produce compose (the local engine's small real ISOs) to production, then the
 * major link, the bitflip's own approval, the bitflip and the vault step. Checked with the real
 * tools: xorriso reads the published images, sha256sum checks CHECKSUM, the torrents name them.
 */
let root: string;
let demo: DemoResult;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-e2e-ga-'));
  await rm(root, { recursive: true });
  demo = await runDemo({ root, yes: true, ga: true, release: '8.10' });
}, 600_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const production = () => join(root, 'mnt/repos-production/mirror/pub/rocky');

describe('releng demo --ga --release 8.10 --yes', () => {
  it('succeeds: minor-release and its promotion, production 8 -> 8.10, the release opened', () => {
    expect(demo.executions.map((e) => [e.stateMachine, e.status])).toEqual([
      ['minor-release', 'SUCCEEDED'],
      ['promotion', 'SUCCEEDED'],
    ]);
    expect(demo.ok).toBe(true);
    expect(demo.productionDir).toBe(join(production(), '8.10'));
    expect(readlinkSync(join(production(), '8'))).toBe('8.10');
    expect(statSync(join(production(), '8.10')).mode & 0o777).toBe(0o755);
  });

  it('publishes real ISO 9660 images of every variant and arch, with CHECKSUM over images and links', async () => {
    const names = demo.isos!.map((p) => basename(p));
    for (const arch of ['x86_64', 'aarch64'])
      for (const variant of ['boot', 'dvd1', 'minimal'])
        expect(names).toContain(`Rocky-8.10-${arch}-${variant}.iso`);
    const dvd = demo.isos!.find((p) => p.endsWith('x86_64-dvd1.iso'))!;
    expect(dvd.startsWith(join(production(), '8.10', 'isos', 'x86_64'))).toBe(true);
    const pvd = await execFile(['xorriso', '-indev', dvd, '-pvd_info']);
    expect(pvd.stdout).toMatch(/Volume Id\s*:\s*Rocky-8-10-x86_64-dvd\n/);
    const isoDir = dirname(dvd);
    expect(readlinkSync(join(isoDir, 'Rocky-8-latest-x86_64-dvd1.iso'))).toBe('Rocky-8.10-x86_64-dvd1.iso');
    const checksum = readFileSync(join(isoDir, 'CHECKSUM'), 'utf8');
    expect(checksum).toMatch(
      /^# Rocky-8-latest-x86_64-boot\.iso: [0-9]+ bytes\nSHA256 \(Rocky-8-latest-x86_64-boot\.iso\) = [0-9a-f]{64}\n/,
    );
    const check = await execFile(['sha256sum', '--strict', '-c', 'CHECKSUM'], { cwd: isoDir });
    expect(check.stdout).toContain('Rocky-x86_64-dvd.iso: OK');
  });

  it('made one torrent per ISO set with mktorrent, naming the set', () => {
    expect(demo.torrents!.map((p) => basename(p)).sort()).toEqual(
      ['aarch64', 'x86_64']
        .flatMap((arch) => ['boot', 'dvd1', 'minimal'].map((v) => `Rocky-8.10-${arch}-${v}.torrent`))
        .sort(),
    );
    const dvd = readFileSync(demo.torrents!.find((p) => p.endsWith('x86_64-dvd1.torrent'))!, 'latin1');
    expect(dvd).toContain('26:Rocky-8.10-x86_64-dvd1.iso');
    expect(dvd).toContain('https://docs.rockylinux.org/release_notes/8_10/');
  });

  it('ran the GA steps after Promote: link, the bitflip approval, the bitflip, vault, file lists', async () => {
    const out = capture();
    expect(await main(['history', 'ga-8-10', '--root', root, '--json'], out)).toBe(0);
    const events = out.last<{ events: Array<{ type: string; state?: string }> }>().events;
    const entered = events.filter((e) => e.type === 'StateEntered').map((e) => e.state);
    const order = [
      'Close production root',
      'Promote',
      'Move major link',
      'Request bitflip approval',
      'Open release (bitflip)',
      'Vault previous release',
      'Write file lists after GA',
    ].map((state) => entered.indexOf(state));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(entered).not.toContain('Left closed');
  });

  it('a GA step run again changes nothing; vault has no older minor to copy here', async () => {
    // The same entry the SSM document runs on a compose host, on the demo's root.
    const out: string[] = [];
    const argv = ['ga-publish', '--root', root, '--config', join(root, 'releng.config.json')];
    argv.push('--major', '8', '--revision', '8.10', '--step', 'link', '--json');
    expect(await hostMain(argv, { stdout: (l) => out.push(l), stderr: () => {} })).toBe(0);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ changed: false, target: '8.10', ok: true });
    expect(await readdir(join(root, 'mnt/repos-production/mirror/vault/rocky')).catch(() => [])).toEqual([]);
  });
});
