import { XMLParser } from 'fast-xml-parser';
import { errorMessage } from '../../shared/errors.ts';

/**
 * A small XML-RPC client (the protocol koji's hub speaks): requests are written by hand,
 * responses parsed with fast-xml-parser. It knows the types Python's xmlrpc sends, including
 * `<nil/>` (koji answers with allow_none) and `<i8>` (koji's marshaller for large ints).
 */

export type XmlRpcValue = string | number | boolean | null | XmlRpcValue[] | { [key: string]: XmlRpcValue };

/** The server answered with `<fault>`: the call itself failed (koji: GenericError, …). */
export class XmlRpcFault extends Error {
  override readonly name = 'XmlRpcFault';
  constructor(
    readonly method: string,
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(`${method}: fault ${faultCode}: ${faultString.slice(0, 500)}`);
  }
}

/** Transport errors and answers that are not XML-RPC. */
export class XmlRpcError extends Error {
  override readonly name = 'XmlRpcError';
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function encodeValue(value: XmlRpcValue): string {
  if (value === null) return '<nil/>';
  if (typeof value === 'string') return `<string>${escapeXml(value)}</string>`;
  if (typeof value === 'boolean') return `<boolean>${value ? 1 : 0}</boolean>`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new XmlRpcError(`cannot send ${value} over XML-RPC`);
    if (!Number.isInteger(value)) return `<double>${value}</double>`;
    return Math.abs(value) < 2 ** 31 ? `<int>${value}</int>` : `<i8>${value}</i8>`;
  }
  if (Array.isArray(value))
    return `<array><data>${value.map((v) => `<value>${encodeValue(v)}</value>`).join('')}</data></array>`;
  const members = Object.entries(value).map(
    ([name, v]) => `<member><name>${escapeXml(name)}</name><value>${encodeValue(v)}</value></member>`,
  );
  return `<struct>${members.join('')}</struct>`;
}

export function encodeCall(method: string, params: readonly XmlRpcValue[]): string {
  if (!/^[A-Za-z0-9_.:/]+$/.test(method))
    throw new XmlRpcError(`not a method name: ${JSON.stringify(method)}`);
  const encoded = params.map((p) => `<param><value>${encodeValue(p)}</value></param>`).join('');
  return `<?xml version="1.0"?>\n<methodCall><methodName>${method}</methodName><params>${encoded}</params></methodCall>`;
}

/** A node as fast-xml-parser's preserveOrder mode gives it: `{tag: children}` or `{'#text': …}`. */
type XmlNode = Record<string, unknown>;

const tagOf = (node: XmlNode) => Object.keys(node).find((k) => k !== ':@');
const elements = (nodes: XmlNode[]) => nodes.filter((n) => tagOf(n) !== '#text');
const textOf = (nodes: XmlNode[]) =>
  nodes.map((n) => (tagOf(n) === '#text' ? String(n['#text']) : '')).join('');
const childrenOf = (node: XmlNode) => node[tagOf(node)!] as XmlNode[];

function only(nodes: XmlNode[], tag: string, where: string): XmlNode[] {
  const found = elements(nodes).filter((n) => tagOf(n) === tag);
  if (found.length !== 1) throw new XmlRpcError(`${where}: expected one <${tag}>, found ${found.length}`);
  return childrenOf(found[0]!);
}

function decodeValue(children: XmlNode[]): XmlRpcValue {
  const [typed, ...extra] = elements(children);
  if (!typed) return textOf(children); // <value>text</value> is a string
  if (extra.length)
    throw new XmlRpcError(`<value> holds more than one type (${tagOf(typed)}, ${tagOf(extra[0]!)})`);
  const tag = tagOf(typed)!;
  const inner = childrenOf(typed);
  const text = textOf(inner);
  switch (tag) {
    case 'string':
    case 'dateTime.iso8601':
    case 'base64':
      return text;
    case 'int':
    case 'i4':
    case 'i8': {
      if (!/^\s*[+-]?\d{1,19}\s*$/.test(text))
        throw new XmlRpcError(`<${tag}> is not an integer: ${text.slice(0, 40)}`);
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw new XmlRpcError(`<${tag}> ${text.trim()} is beyond 2^53`);
      return n;
    }
    case 'boolean':
      if (!/^\s*[01]\s*$/.test(text)) throw new XmlRpcError(`<boolean> is not 0 or 1: ${text.slice(0, 40)}`);
      return text.trim() === '1';
    case 'double': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n))
        throw new XmlRpcError(`<double> is not a number: ${text.slice(0, 40)}`);
      return n;
    }
    case 'nil':
      return null;
    case 'array':
      return elements(only(inner, 'data', '<array>')).map((v) => {
        if (tagOf(v) !== 'value') throw new XmlRpcError(`<data> holds <${tagOf(v)}>`);
        return decodeValue(childrenOf(v));
      });
    case 'struct': {
      const out: Record<string, XmlRpcValue> = Object.create(null);
      for (const member of elements(inner)) {
        if (tagOf(member) !== 'member') throw new XmlRpcError(`<struct> holds <${tagOf(member)}>`);
        const parts = childrenOf(member);
        out[textOf(only(parts, 'name', '<member>'))] = decodeValue(only(parts, 'value', '<member>'));
      }
      return out;
    }
    default:
      throw new XmlRpcError(`unknown XML-RPC type <${tag}>`);
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
});

/** The value of a methodResponse; XmlRpcFault when it is a fault. */
export function decodeResponse(method: string, xml: string): XmlRpcValue {
  // XML-RPC has no DTDs; refusing them keeps entity expansion out entirely.
  if (/<!DOCTYPE/i.test(xml)) throw new XmlRpcError(`${method}: the answer declares a DOCTYPE`);
  let doc: XmlNode[];
  try {
    doc = parser.parse(xml) as XmlNode[];
  } catch (err) {
    throw new XmlRpcError(`${method}: the answer is not XML: ${errorMessage(err)}`);
  }
  const response = only(doc, 'methodResponse', method);
  const [body] = elements(response);
  if (body && tagOf(body) === 'fault') {
    const fault = decodeValue(only(childrenOf(body), 'value', `${method} <fault>`));
    const { faultCode, faultString } = (fault ?? {}) as Record<string, unknown>;
    if (typeof faultCode !== 'number' || typeof faultString !== 'string')
      throw new XmlRpcError(`${method}: a fault without faultCode and faultString`);
    throw new XmlRpcFault(method, faultCode, faultString);
  }
  const param = only(only(response, 'params', method), 'param', `${method} <params>`);
  return decodeValue(only(param, 'value', `${method} <param>`));
}

export interface XmlRpcCallOptions {
  timeoutMs?: number;
  /** Largest answer read, in bytes. */
  maxBytes?: number;
}

/** POSTs one call and decodes the answer. */
export async function callXmlRpc(
  url: string,
  method: string,
  params: readonly XmlRpcValue[],
  options: XmlRpcCallOptions = {},
): Promise<XmlRpcValue> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: encodeCall(method, params),
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    });
  } catch (err) {
    throw new XmlRpcError(`${method} at ${url}: ${errorMessage(err)}`);
  }
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes)
    throw new XmlRpcError(`${method}: the answer is larger than ${maxBytes} bytes`);
  const text = await res.text();
  if (!res.ok) throw new XmlRpcError(`${method} at ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  if (Buffer.byteLength(text) > maxBytes)
    throw new XmlRpcError(`${method}: the answer is larger than ${maxBytes} bytes`);
  return decodeResponse(method, text);
}
