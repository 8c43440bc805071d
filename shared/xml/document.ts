import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { errorMessage } from '../errors.ts';
import { scanXml } from './scan.ts';

/**
 * Small XML documents (repomd.xml, updateinfo.xml) read and written with fast-xml-parser:
 * entities and character references decoded, CDATA, comments and attribute order kept,
 * namespace prefixes resolved to their URIs, and written back escaped (processing
 * instructions inside the root are dropped: no repository format has any). Big primary and
 * filelists files go through scan.ts instead (a tree of 20,000 packages costs seconds).
 */

export interface XmlElement {
  /** The name as written, prefix included (`rpm:entry`). */
  name: string;
  local: string;
  /** Namespace URI the prefix (or the default namespace) is bound to where the element is. */
  uri: string | undefined;
  /** In document order, entity references decoded; `xmlns` declarations included. */
  attributes: Record<string, string>;
  children: XmlNode[];
  /** Every prefix binding in scope here ('' is the default namespace). */
  scope: Record<string, string>;
}

export type XmlNode = XmlElement | { text: string; cdata?: true } | { comment: string };

export const isElement = (node: XmlNode): node is XmlElement => 'children' in node;

export class XmlDocumentError extends Error {}

const OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
  // Character references (&#x41;) are decoded with the HTML set; the XML five always are.
  htmlEntities: true,
  suppressEmptyNode: true,
} as const;

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

const localOf = (name: string) => name.slice(name.indexOf(':') + 1);
const prefixOf = (name: string) => (name.includes(':') ? name.slice(0, name.indexOf(':')) : '');

function toElement(name: string, node: Ordered, outer: Record<string, string>): XmlElement {
  const attributes = { ...(node[':@'] ?? {}) };
  let scope = outer;
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) {
      if (scope === outer) scope = { ...outer };
      scope[key === 'xmlns' ? '' : key.slice(6)] = value;
    }
  }
  const prefix = prefixOf(name);
  const uri = scope[prefix];
  if (prefix && prefix !== 'xml' && uri === undefined)
    throw new XmlDocumentError(`<${name}>: namespace prefix ${prefix} is not declared`);
  return {
    name,
    local: localOf(name),
    uri,
    attributes,
    children: toNodes(node[name] as Ordered[], scope),
    scope,
  };
}

function toNodes(list: Ordered[], scope: Record<string, string>): XmlNode[] {
  const out: XmlNode[] = [];
  for (const node of list) {
    if ('#text' in node) out.push({ text: String(node['#text']) });
    else if ('#cdata' in node)
      out.push({
        text: (node['#cdata'] as Ordered[]).map((t) => String(t['#text'] ?? '')).join(''),
        cdata: true,
      });
    else if ('#comment' in node)
      out.push({ comment: (node['#comment'] as Ordered[]).map((t) => String(t['#text'] ?? '')).join('') });
    else {
      const name = Object.keys(node).find((k) => k !== ':@')!;
      if (!name.startsWith('?')) out.push(toElement(name, node, scope));
    }
  }
  return out;
}

/** Parses a whole document; throws XmlDocumentError naming `what` and the fault. */
export function parseXml(text: string, what: string): XmlElement {
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    throw new XmlDocumentError(`${what}: not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  try {
    // The structural pass refuses what the validator lets through: DTD entity declarations,
    // a second root, undefined entities in attributes.
    scanXml(text, {
      open: (tag) => {
        tag.attributes();
        return undefined;
      },
    });
  } catch (err) {
    throw new XmlDocumentError(`${what}: not well-formed XML (${errorMessage(err)})`);
  }
  let top: XmlNode[];
  try {
    top = toNodes(new XMLParser(OPTIONS).parse(text) as Ordered[], {
      xml: 'http://www.w3.org/XML/1998/namespace',
    });
  } catch (err) {
    throw new XmlDocumentError(`${what}: ${errorMessage(err)}`);
  }
  const roots = top.filter(isElement);
  if (roots.length !== 1)
    throw new XmlDocumentError(`${what}: expected one root element, found ${roots.length}`);
  if (top.some((n) => 'text' in n && n.text.trim()))
    throw new XmlDocumentError(`${what}: text outside the root element`);
  return roots[0]!;
}

/** The child elements of `element` in its own namespace named `local` (any namespace if none). */
export function childElements(element: XmlElement, local: string): XmlElement[] {
  return element.children.filter(
    (c): c is XmlElement => isElement(c) && c.local === local && c.uri === element.uri,
  );
}

export const firstChild = (element: XmlElement, local: string): XmlElement | undefined =>
  childElements(element, local)[0];

/** The text content of an element and its descendants, CDATA included. */
export function textOf(element: XmlElement): string {
  return element.children.map((c) => (isElement(c) ? textOf(c) : 'text' in c ? c.text : '')).join('');
}

/** A new element named `local` in `parent`'s namespace (with its prefix) and scope. */
export function element(
  parent: Pick<XmlElement, 'name' | 'uri' | 'scope'>,
  local: string,
  attributes: Record<string, string> = {},
  children: XmlNode[] = [],
): XmlElement {
  const prefix = prefixOf(parent.name);
  const name = prefix ? `${prefix}:${local}` : local;
  return { name, local, uri: parent.uri, attributes, children, scope: parent.scope };
}

/** A new root element without namespace. */
export function rootElement(name: string, children: XmlNode[] = []): XmlElement {
  return { name, local: name, uri: undefined, attributes: {}, children, scope: {} };
}

/**
 * `element` made standalone: the namespace bindings it inherited (and that `into` does not
 * already give it) are declared on it, so it keeps its meaning when moved.
 */
export function detached(el: XmlElement, into: Record<string, string> = {}): XmlElement {
  const attributes: Record<string, string> = {};
  for (const [prefix, uri] of Object.entries(el.scope)) {
    const key = prefix ? `xmlns:${prefix}` : 'xmlns';
    if (prefix === 'xml' || key in el.attributes || into[prefix] === uri) continue;
    attributes[key] = uri;
  }
  return { ...el, attributes: { ...attributes, ...el.attributes } };
}

function toOrdered(nodes: XmlNode[]): Ordered[] {
  return nodes.map((node) => {
    if ('text' in node) return node.cdata ? { '#cdata': [{ '#text': node.text }] } : { '#text': node.text };
    if ('comment' in node) return { '#comment': [{ '#text': node.comment }] };
    const out: Ordered = { [node.name]: toOrdered(node.children) };
    if (Object.keys(node.attributes).length) out[':@'] = node.attributes;
    return out;
  });
}

/** The document text: UTF-8 declaration, `root` as built, a final newline. */
export function serializeXml(root: XmlElement): string {
  const body = new XMLBuilder(OPTIONS).build(toOrdered([root])) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}\n`;
}

/** Escapes text for an attribute value or element content. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
