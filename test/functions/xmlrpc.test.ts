import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  callXmlRpc,
  decodeResponse,
  encodeCall,
  XmlRpcError,
  XmlRpcFault,
} from '../../functions/adapters/xmlrpc.ts';

const ok = (value: string) =>
  `<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n${value}</param>\n</params>\n</methodResponse>\n`;

describe('XML-RPC client', () => {
  it('decodes the types Python sends: untyped strings, i8, nil, nested arrays and structs', () => {
    const xml = ok(
      '<value><struct>\n<member>\n<name>plain</name>\n<value> a &amp; b </value>\n</member>\n' +
        '<member>\n<name>big</name>\n<value><i8>4294967296</i8></value>\n</member>\n' +
        '<member>\n<name>none</name>\n<value><nil/></value></member>\n' +
        '<member>\n<name>list</name>\n<value><array><data>\n<value><boolean>1</boolean></value>\n' +
        '<value><double>1.5</double></value>\n<value><string></string></value>\n</data></array></value>\n</member>\n' +
        '</struct></value>\n',
    );
    expect(decodeResponse('m', xml)).toEqual({
      plain: ' a & b ',
      big: 4294967296,
      none: null,
      list: [true, 1.5, ''],
    });
  });

  it('turns a fault into XmlRpcFault with its code and text', () => {
    const xml =
      "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n" +
      '<value><int>1000</int></value>\n</member>\n<member>\n<name>faultString</name>\n' +
      '<value><string>koji.GenericError: No such tag</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n';
    expect(() => decodeResponse('getTag', xml)).toThrow(XmlRpcFault);
    expect(() => decodeResponse('getTag', xml)).toThrow('getTag: fault 1000: koji.GenericError: No such tag');
  });

  it('refuses DOCTYPEs, non-XML, unknown types and integers beyond 2^53, naming the method', () => {
    expect(() => decodeResponse('m', `<!DOCTYPE x [<!ENTITY a "b">]>${ok('<value>&a;</value>')}`)).toThrow(
      'm: the answer declares a DOCTYPE',
    );
    expect(() => decodeResponse('m', 'Service Unavailable')).toThrow(XmlRpcError);
    expect(() => decodeResponse('m', ok('<value><dict/></value>'))).toThrow('unknown XML-RPC type <dict>');
    expect(() => decodeResponse('m', ok('<value><i8>9007199254740993</i8></value>'))).toThrow('beyond 2^53');
  });

  it('writes calls with escaped strings, ints, i8, nil and keyword structs', () => {
    expect(
      encodeCall('queryHistory', [{ __starstar: true, tables: ['a<b'], afterEvent: 2 ** 31, x: null }]),
    ).toBe(
      '<?xml version="1.0"?>\n<methodCall><methodName>queryHistory</methodName><params><param><value><struct>' +
        '<member><name>__starstar</name><value><boolean>1</boolean></value></member>' +
        '<member><name>tables</name><value><array><data><value><string>a&lt;b</string></value></data></array></value></member>' +
        '<member><name>afterEvent</name><value><i8>2147483648</i8></value></member>' +
        '<member><name>x</name><value><nil/></value></member></struct></value></param></params></methodCall>',
    );
    expect(() => encodeCall('a b', [])).toThrow('not a method name');
  });

  it('reports an HTTP error with its status', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503);
      res.end('overloaded');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await expect(callXmlRpc(`http://127.0.0.1:${port}/kojihub`, 'getLastEvent', [])).rejects.toThrow(
        /getLastEvent at http:\/\/127\.0\.0\.1:\d+\/kojihub: HTTP 503 overloaded/,
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
