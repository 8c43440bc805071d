import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Advisory, parseUpdateinfo, updateinfoXml } from '../../host/repo/updateinfo.ts';
import { errorMessage } from '../../shared/errors.ts';

/**
 * A stand-in for Apollo, the errata service apply-updateinfo fetches from, serving the demo
 * store's advisories on 127.0.0.1: `/api/v3/updateinfo/<product> <arch>/<repo>/updateinfo.xml`
 * answers the advisories whose collection is that repo's, and 404 (which the host operation
 * skips, as with the real Apollo) for a repo without any. The demo is to Apollo what its package
 * store is to koji: the same protocol, local data.
 */
export interface LocalApollo {
  baseUrl: string;
  close(): Promise<void>;
}

/** Advisories of one repo: those with a collection whose short name mentions the repo. */
function updatesFor(updateinfo: string, repo: string): Advisory[] {
  const wanted = `-${repo.toLowerCase()}-`;
  return parseUpdateinfo(updateinfo).filter((a) =>
    a.collections.some((c) => c.toLowerCase().includes(wanted)),
  );
}

/** Listens on 127.0.0.1:`port` (0: any free port); rejects when the port is taken. */
export async function startLocalApollo(updateinfoPath: string, port = 0): Promise<LocalApollo> {
  const server: Server = createServer((req, res) => {
    const match = /^\/api\/v3\/updateinfo\/[^/]+\/([A-Za-z0-9_-]+)\/updateinfo\.xml/.exec(req.url ?? '');
    void (async () => {
      const updateinfo = await readFile(updateinfoPath, 'utf8').catch(() => '');
      let updates: Advisory[];
      try {
        updates = match && updateinfo ? updatesFor(updateinfo, match[1]!) : [];
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${errorMessage(err)}\n`);
        return;
      }
      if (updates.length === 0) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(updateinfoXml(updates));
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${bound}/api/v3/updateinfo`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
