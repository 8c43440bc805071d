import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A koji hub stand-in on a loopback port: answers getLastEvent and queryHistory over XML-RPC in
 * koji's shapes (koji/hub/kojihub.py: the tag_listing columns and joined names, the
 * afterEvent/beforeEvent clauses, keyword arguments in a `__starstar` struct), marshalled the
 * way Python's xmlrpc.client does, independently of the client under test.
 */

export interface HubTagListing {
  build: { id: number; name: string; version: string; release: string };
  tag: { id: number; name: string };
  createEvent: number;
  creator: string;
  revokeEvent?: number;
  revoker?: string;
}

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue } | { double: number };

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Python's xmlrpc.client Marshaller output for one value. */
function dump(v: PyValue): string {
  if (v === null) return '<value><nil/></value>';
  if (typeof v === 'string') return `<value><string>${esc(v)}</string></value>\n`;
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>\n`;
  if (typeof v === 'number') return `<value><int>${v}</int></value>\n`;
  if (Array.isArray(v)) return `<value><array><data>\n${v.map(dump).join('')}</data></array></value>\n`;
  if ('double' in v && typeof v.double === 'number') return `<value><double>${v.double}</double></value>\n`;
  const members = Object.entries(v).map(
    ([k, x]) => `<member>\n<name>${esc(k)}</name>\n${dump(x)}</member>\n`,
  );
  return `<value><struct>\n${members.join('')}</struct></value>\n`;
}

const response = (v: PyValue) =>
  `<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n${dump(v)}</param>\n</params>\n</methodResponse>\n`;
const fault = (code: number, text: string) =>
  `<?xml version='1.0'?>\n<methodResponse>\n<fault>\n${dump({ faultCode: code, faultString: text })}</fault>\n</methodResponse>\n`;

/** The columns koji's queryHistory returns for one tag_listing row. */
function row(l: HubTagListing, after: number | undefined, before: number | undefined): PyValue {
  const revoked = l.revokeEvent !== undefined;
  return {
    active: revoked ? null : true,
    create_event: l.createEvent,
    revoke_event: revoked ? l.revokeEvent! : null,
    creator_id: 1,
    revoker_id: revoked ? 2 : null,
    creator_name: l.creator,
    revoker_name: revoked ? l.revoker! : null,
    create_ts: { double: 1764756000.123456 + l.createEvent },
    revoke_ts: revoked ? { double: 1764756000.5 + l.revokeEvent! } : null,
    build_id: l.build.id,
    tag_id: l.tag.id,
    'tag.name': l.tag.name,
    name: l.build.name,
    version: l.build.version,
    release: l.build.release,
    epoch: null,
    'build.state': 1,
    ...(after === undefined
      ? {}
      : {
          _created_after_event: l.createEvent > after,
          _revoked_after_event: revoked ? l.revokeEvent! > after : null,
        }),
    ...(before === undefined
      ? {}
      : {
          _created_before_event: l.createEvent < before,
          _revoked_before_event: revoked ? l.revokeEvent! < before : null,
        }),
  };
}

const intMember = (xml: string, name: string) => {
  const m = new RegExp(`<member><name>${name}</name><value><int>(\\d+)</int></value></member>`).exec(xml);
  return m ? Number(m[1]) : undefined;
};

export interface KojiHubStandIn {
  url: string;
  listings: HubTagListing[];
  lastEvent: number;
  /** Faults to answer, once each, for the next calls of a method. */
  faults: Array<{ method: string; code: number; text: string }>;
  /** Raw row overrides for the next queryHistory answer (a hub answering something odd). */
  oddRows?: PyValue[];
  calls: Array<{ method: string; afterEvent?: number; beforeEvent?: number }>;
  close(): Promise<void>;
}

export async function startKojiHub(): Promise<KojiHubStandIn> {
  const hub: Omit<KojiHubStandIn, 'url' | 'close'> = { listings: [], lastEvent: 0, faults: [], calls: [] };
  const server: Server = createServer((req, res) => {
    let xml = '';
    req.on('data', (chunk) => {
      xml += chunk;
    });
    req.on('end', () => {
      const method = /<methodName>([^<]+)<\/methodName>/.exec(xml)?.[1] ?? '';
      const answer = (text: string) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(text);
      };
      const queued = hub.faults.findIndex((f) => f.method === method);
      if (queued >= 0) {
        const [f] = hub.faults.splice(queued, 1);
        hub.calls.push({ method });
        return answer(fault(f!.code, f!.text));
      }
      if (method === 'getLastEvent') {
        hub.calls.push({ method });
        return answer(response({ id: hub.lastEvent, ts: { double: 1764756000.25 } }));
      }
      if (method === 'queryHistory') {
        // koji.encode_args: keyword arguments travel as a last struct flagged __starstar.
        if (!/<member><name>__starstar<\/name><value><boolean>1<\/boolean><\/value><\/member>/.test(xml))
          return answer(fault(1000, 'queryHistory() takes keyword arguments (no __starstar struct)'));
        if (
          !/<name>tables<\/name><value><array><data><value><string>tag_listing<\/string><\/value><\/data>/.test(
            xml,
          )
        )
          return answer(fault(1000, 'expected tables=["tag_listing"]'));
        const after = intMember(xml, 'afterEvent');
        const before = intMember(xml, 'beforeEvent');
        hub.calls.push({ method, afterEvent: after, beforeEvent: before });
        const matches = hub.listings.filter((l) => {
          const r = l.revokeEvent;
          const afterOk = after === undefined || l.createEvent > after || (r !== undefined && r > after);
          const beforeOk = before === undefined || l.createEvent < before || (r !== undefined && r < before);
          return afterOk && beforeOk;
        });
        const rows = hub.oddRows ?? matches.map((l) => row(l, after, before));
        hub.oddRows = undefined;
        return answer(response({ tag_listing: rows }));
      }
      answer(fault(1000, `Invalid method: ${method}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(hub, {
    url: `http://127.0.0.1:${port}/kojihub`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
