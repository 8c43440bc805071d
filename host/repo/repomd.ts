import { readFile } from 'node:fs/promises';
import {
  childElements,
  element,
  firstChild,
  parseXml,
  serializeXml,
  textOf,
  type XmlElement,
  type XmlNode,
} from '../../shared/xml/document.ts';

/** One `<data type="…">` record of repomd.xml: what clients fetch and check. */
export interface RepomdRecord {
  type: string;
  /** `repodata/<checksum>-primary.xml.gz`, relative to the repo dir. */
  href: string;
  checksumType: string;
  checksum: string;
  /** Checksum of the uncompressed content, when recorded. */
  openChecksum?: string;
  size?: number;
}

/** The repomd root element; anything else is refused, naming what it is. */
export function repomdDocument(xml: string): XmlElement {
  const root = parseXml(xml, 'repomd.xml');
  if (root.local !== 'repomd')
    throw new Error(`repomd.xml: the root element is <${root.name}>, not <repomd>`);
  return root;
}

function record(data: XmlElement): RepomdRecord {
  const type = data.attributes.type ?? '';
  const checksum = firstChild(data, 'checksum');
  const href = firstChild(data, 'location')?.attributes.href;
  const sum = checksum && textOf(checksum).trim();
  if (!type || !checksum || !sum || !href)
    throw new Error(`repomd.xml record ${type || '(no type)'} has no checksum or location`);
  const size = firstChild(data, 'size');
  const open = firstChild(data, 'open-checksum');
  return {
    type,
    href,
    checksumType: checksum.attributes.type ?? 'sha256',
    checksum: sum,
    openChecksum: open && textOf(open).trim(),
    size: size ? Number(textOf(size).trim()) : undefined,
  };
}

/** Reads the revision and data records of a repomd.xml. */
export function parseRepomd(xml: string): { revision?: string; records: RepomdRecord[] } {
  const root = repomdDocument(xml);
  const revision = firstChild(root, 'revision');
  return { revision: revision && textOf(revision), records: childElements(root, 'data').map(record) };
}

export async function readRepomd(path: string): Promise<ReturnType<typeof parseRepomd>> {
  return parseRepomd(await readFile(path, 'utf8'));
}

/** Removes `node` from `parent` with the indentation before it, so no blank line is left. */
function removeChild(parent: XmlElement, node: XmlNode): void {
  const at = parent.children.indexOf(node);
  const before = parent.children[at - 1];
  const indent = before && 'text' in before && !before.cdata && /^\s*$/.test(before.text);
  parent.children.splice(indent ? at - 1 : at, indent ? 2 : 1);
}

/** The seed's sed: drop the empty `<open-size></open-size>` createrepo/modifyrepo leave. */
export function withoutEmptyOpenSize(xml: string): string {
  const root = repomdDocument(xml);
  let dropped = false;
  for (const data of childElements(root, 'data'))
    for (const openSize of childElements(data, 'open-size'))
      if (!textOf(openSize).trim()) {
        removeChild(data, openSize);
        dropped = true;
      }
  return dropped ? serializeXml(root) : xml;
}

/** The fields of a record a rewritten metadata file changes. */
export interface RecordFields {
  checksum: string;
  openChecksum: string;
  href: string;
  timestamp: number;
  size: number;
  openSize: number;
}

/**
 * repomd.xml with the `type` record's fields replaced (sha256, as createrepo_c writes) and the
 * records `drop` names removed. Other records, comments and attribute order stay as they were.
 */
export function editRepomd(
  xml: string,
  replace: Map<string, RecordFields>,
  drop: (type: string) => boolean = () => false,
): string {
  const root = repomdDocument(xml);
  for (const data of childElements(root, 'data')) {
    const type = data.attributes.type ?? '';
    if (drop(type)) {
      removeChild(root, data);
      continue;
    }
    const fields = replace.get(type);
    if (!fields) continue;
    const field = (name: string, text: string, attributes: Record<string, string> = {}): XmlNode[] => [
      { text: '\n    ' },
      element(data, name, attributes, [{ text }]),
    ];
    data.children = [
      ...field('checksum', fields.checksum, { type: 'sha256' }),
      ...field('open-checksum', fields.openChecksum, { type: 'sha256' }),
      { text: '\n    ' },
      element(data, 'location', { href: fields.href }),
      ...field('timestamp', String(fields.timestamp)),
      ...field('size', String(fields.size)),
      ...field('open-size', String(fields.openSize)),
      { text: '\n  ' },
    ];
  }
  return serializeXml(root);
}
