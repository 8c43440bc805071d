import { escapeXml } from './document.ts';
import { type StartTag, scanXml, XmlSyntaxError } from './scan.ts';

/**
 * createrepo_c's primary, filelists and other documents, read with the structural pass of
 * scan.ts (they run to tens of megabytes): where the root tag and the package entries are,
 * and the fields of each primary entry that say which file it describes.
 */

export const COMMON_NS = 'http://linux.duke.edu/metadata/common';

export interface MetadataLayout {
  rootName: string;
  /** Offsets of the root start tag: `<` and just past `>`. */
  rootTagStart: number;
  rootTagEnd: number;
  rootAttributes: Map<string, string>;
  rootSelfClosing: boolean;
  /** From the first child element's `<` to just past the last child's end ('' span if none). */
  entriesStart: number;
  entriesEnd: number;
}

/**
 * Where the parts of a metadata document are; `visit` sees every start tag down to
 * `visitDepth`, the root's first.
 * Errors name `what` and the line.
 */
export function metadataLayout(
  xml: string,
  what: string,
  visit?: (tag: StartTag) => void,
  visitDepth = 1,
): MetadataLayout {
  let entriesStart = -1;
  let entriesEnd = -1;
  let root: StartTag | undefined;
  try {
    scanXml(
      xml,
      {
        open: (tag) => {
          if (tag.depth === 0) root = tag;
          else if (tag.depth === 1 && entriesStart < 0) entriesStart = tag.start;
          visit?.(tag);
        },
        close: (_name, depth, _start, end) => {
          if (depth === 1) entriesEnd = end;
        },
      },
      { maxDepth: Math.max(1, visitDepth) },
    );
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new Error(`${what}: not well-formed XML (${err.message})`);
    throw err;
  }
  const tag = root!;
  const none = entriesStart < 0;
  return {
    rootName: tag.name,
    rootTagStart: tag.start,
    rootTagEnd: tag.end,
    rootAttributes: tag.attributes(),
    rootSelfClosing: tag.selfClosing,
    entriesStart: none ? tag.end : entriesStart,
    entriesEnd: none ? tag.end : entriesEnd,
  };
}

/** The root's namespace declarations, as `xmlns[:prefix]=uri` text, sorted: equal means same bindings. */
export function namespaceDeclarations(layout: MetadataLayout): string {
  return [...layout.rootAttributes]
    .filter(([name]) => name === 'xmlns' || name.startsWith('xmlns:'))
    .map(([name, uri]) => `${name}=${uri}`)
    .sort()
    .join(' ');
}

/** A root start tag with its attributes in the same order, `packages` set to `count`. */
export function rootTagWithCount(layout: MetadataLayout, count: number): string {
  const attributes = new Map(layout.rootAttributes).set('packages', String(count));
  const text = [...attributes].map(([name, value]) => ` ${name}="${escapeXml(value)}"`).join('');
  return `<${layout.rootName}${text}>`;
}

/** One package of primary.xml: the file it describes, as createrepo_c recorded it. */
export interface PrimaryEntry {
  /** `location href`, relative to the repo (or to `base`). */
  href?: string;
  /** `location xml:base`: the package is served from another URL. */
  base?: string;
  /** `size package`: bytes of the rpm. */
  size?: number;
  /** `time file`: the rpm's mtime in seconds. */
  mtime?: number;
}

/** The package entries of a primary.xml and its layout, in one pass. */
export function primaryEntries(
  xml: string,
  what = 'primary.xml',
): { entries: PrimaryEntry[]; layout: MetadataLayout } {
  const entries: PrimaryEntry[] = [];
  let prefix = '';
  let current: PrimaryEntry | undefined;
  const named = (tag: StartTag, local: string) => tag.name === (prefix ? `${prefix}:${local}` : local);
  const layout = metadataLayout(
    xml,
    what,
    (tag) => {
      if (tag.depth === 0) {
        prefix = commonPrefix(tag, what);
        return;
      }
      if (tag.depth === 1) {
        checkNoDeclarations(tag, what);
        current = named(tag, 'package') ? {} : undefined;
        if (current) entries.push(current);
        return;
      }
      if (tag.depth !== 2 || !current) return;
      if (named(tag, 'location')) {
        checkNoDeclarations(tag, what);
        current.href = tag.attributes().get('href');
        current.base = tag.attributes().get('xml:base');
      } else if (named(tag, 'size')) current.size = numberAttribute(tag, 'package', what);
      else if (named(tag, 'time')) current.mtime = numberAttribute(tag, 'file', what);
    },
    2,
  );
  return { entries, layout };
}

/** The prefix the root binds to the common namespace ('' when it is the default one). */
function commonPrefix(root: StartTag, what: string): string {
  for (const [name, uri] of root.attributes())
    if (uri === COMMON_NS && (name === 'xmlns' || name.startsWith('xmlns:')))
      return name === 'xmlns' ? '' : name.slice('xmlns:'.length);
  throw new Error(`${what}: the root <${root.name}> does not declare ${COMMON_NS}`);
}

function numberAttribute(tag: StartTag, name: string, what: string): number | undefined {
  const value = tag.attributes().get(name);
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value.trim()))
    throw new Error(`${what}: <${tag.name} ${name}="${value}"> is not a number`);
  return Number(value);
}

/** Namespaces are read from the root only: a package redeclaring one is refused, not misread. */
function checkNoDeclarations(tag: StartTag, what: string): void {
  for (const name of tag.attributes().keys())
    if (name === 'xmlns' || name.startsWith('xmlns:'))
      throw new Error(`${what}: <${tag.name}> declares a namespace below the root (not supported)`);
}
