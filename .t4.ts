import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { scanXml } from './shared/xml/scan.ts';
const dir = '/tmp/xmlexp/repo/repodata/';
const f = (t: string) => gunzipSync(readFileSync(dir + readdirSync(dir).find(n => n.includes(t))!)).toString('utf8');
const primary = f('primary'), filelists = f('filelists');
for (let k = 0; k < 5; k++) {
let s = performance.now();
let n = 0;
scanXml(primary, { open: (t) => { if (t.depth === 2 && (t.name === 'location' || t.name === 'time' || t.name === 'size')) { t.attributes(); n++; } return undefined; } });
const a = performance.now() - s;
s = performance.now();
scanXml(filelists);
const b = performance.now() - s;
s = performance.now();
const m = [...primary.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)].map(m => [/<location href="([^"]+)"/.exec(m[1]!)?.[1], /<time file="([0-9]+)"/.exec(m[1]!)?.[1], /<size package="([0-9]+)"/.exec(m[1]!)?.[1]]);
console.log('primary', a.toFixed(0), 'filelists', b.toFixed(0), 'regex', (performance.now() - s).toFixed(0), n, m.length);
}
