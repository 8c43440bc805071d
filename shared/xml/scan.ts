/**
 * A structural pass over an XML document for the files too big to build a tree of: a
 * 20,000-package primary.xml takes fast-xml-parser 5-9 s on this machine against about a
 * tenth of that here (bench/README.md, "XML"). It walks elements with their byte offsets and
 * attributes, honours comments, CDATA, processing instructions and quoted `>` in attributes,
 * checks that end tags match, and refuses DTD internal subsets (entity declarations: no
 * repository metadata has one, and expanding them is how XML bombs work). Text content is
 * skipped, not decoded: callers read attributes. Small documents go through document.ts.
 */

export class XmlSyntaxError extends Error {}

/** A start tag as found: `start` is the offset of `<`, `end` just past `>`; depth 0 is the root. */
export interface StartTag {
  name: string;
  start: number;
  end: number;
  depth: number;
  selfClosing: boolean;
  /** Attributes in document order, entity references decoded (parsed on first call). */
  attributes(): Map<string, string>;
}

export interface ScanHandlers {
  /** Return false to stop the scan after this tag. */
  open?(tag: StartTag): boolean | undefined;
  /** After an element: its name, depth, and the offsets of its start and just past its end. */
  close?(name: string, depth: number, start: number, end: number): void;
}

export interface ScanResult {
  /** False when `partial` was set and the text ended (or a handler stopped) before the root closed. */
  complete: boolean;
  root?: { tag: StartTag; endTagStart: number; end: number };
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references; anything else is an error. */
export function decodeReferences(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&([^;&]*);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new XmlSyntaxError(`bare & in ${JSON.stringify(value)}`);
    const code = /^#x[0-9a-fA-F]+$/.test(ref)
      ? Number.parseInt(ref.slice(2), 16)
      : /^#[0-9]+$/.test(ref)
        ? Number(ref.slice(1))
        : undefined;
    if (code !== undefined && code > 0 && code <= 0x10ffff) return String.fromCodePoint(code);
    const named = PREDEFINED[ref];
    if (named === undefined) throw new XmlSyntaxError(`undefined entity ${whole}`);
    return named;
  });
}

const ATTRIBUTE = /[ \t\r\n]*([^\s=/>"']+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"<]*)"|'([^'<]*)')/y;

function parseAttributes(text: string, from: number, to: number): Map<string, string> {
  const out = new Map<string, string>();
  ATTRIBUTE.lastIndex = from;
  while (ATTRIBUTE.lastIndex < to) {
    const at = ATTRIBUTE.lastIndex;
    const match = ATTRIBUTE.exec(text);
    if (!match || ATTRIBUTE.lastIndex > to) {
      if (/^[ \t\r\n]*$/.test(text.slice(at, to))) break;
      throw new XmlSyntaxError(`malformed attributes ${JSON.stringify(text.slice(at, to).trim())}`);
    }
    const name = match[1]!;
    if (out.has(name)) throw new XmlSyntaxError(`attribute ${name} repeated`);
    // Attribute-value normalisation: literal tabs and line ends read as spaces.
    out.set(name, decodeReferences((match[2] ?? match[3]!).replace(/[\t\r\n]/g, ' ')));
  }
  return out;
}

/** Offset of the `>` ending a tag whose attributes start at `from`, skipping quoted values; -1 if none. */
function tagEnd(text: string, from: number): number {
  let at = from;
  while (true) {
    const gt = text.indexOf('>', at);
    if (gt < 0) return -1;
    let quote = -1;
    for (let k = at; k < gt; k++) {
      const c = text.charCodeAt(k);
      if (c === 34 || c === 39) {
        quote = k;
        break;
      }
    }
    if (quote < 0) return gt;
    const close = text.indexOf(text[quote]!, quote + 1);
    if (close < 0) return -1;
    at = close + 1;
  }
}

class Tag implements StartTag {
  #attributes: Map<string, string> | undefined;
  constructor(
    private readonly text: string,
    readonly name: string,
    readonly start: number,
    readonly end: number,
    readonly depth: number,
    readonly selfClosing: boolean,
    private readonly attrFrom: number,
    private readonly attrTo: number,
  ) {}
  attributes(): Map<string, string> {
    this.#attributes ??= parseAttributes(this.text, this.attrFrom, this.attrTo);
    return this.#attributes;
  }
}

const isNameEnd = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 47 || c === 62;

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

export interface ScanOptions {
  /** Stop quietly (complete: false) where the text ends early, as in the head of a file. */
  partial?: boolean;
  /** Handlers see elements down to this depth only; deeper ones are still checked, more cheaply. */
  maxDepth?: number;
}

// Long on purpose: one hand-written loop keeps the scan state in locals on a hot path (bench/xml.ts).
/** Walks `text`; throws XmlSyntaxError (naming the line) unless it is one well-formed element. */
export function scanXml(text: string, handlers: ScanHandlers = {}, options: ScanOptions = {}): ScanResult {
  const { partial = false, maxDepth = Number.POSITIVE_INFINITY } = options;
  // Open elements: names and start offsets (no object per element: primary.xml has 500,000).
  const names: string[] = [];
  const starts: number[] = [];
  let rootTag: StartTag | undefined;
  let root: ScanResult['root'];
  let i = 0;
  const fail = (why: string, at = i): never => {
    throw new XmlSyntaxError(`line ${lineOf(text, at)}: ${why}`);
  };
  const skipTo = (marker: string, from: number, what: string): number | undefined => {
    const at = text.indexOf(marker, from);
    if (at >= 0) return at + marker.length;
    if (!partial) fail(`unterminated ${what}`);
    return undefined;
  };
  const closed = (name: string, start: number, end: number, endTagStart: number) => {
    const depth = names.length;
    if (depth <= maxDepth) handlers.close?.(name, depth, start, end);
    if (depth === 0) root = { tag: rootTag!, endTagStart, end };
  };
  while (true) {
    const lt = text.indexOf('<', i);
    if (names.length === 0 && /[^ \t\r\n]/.test(text.slice(i, lt < 0 ? text.length : lt)))
      fail(root ? 'content after the root element' : 'text before the root element');
    if (lt < 0) break;
    i = lt;
    let next: number | undefined;
    const second = text.charCodeAt(i + 1);
    if (second === 47) {
      // </name>, the name possibly followed by spaces
      next = skipTo('>', i, 'end tag');
      if (next === undefined) break;
      const open = names.pop();
      const start = starts.pop()!;
      const nameEnd = i + 2 + (open?.length ?? 0);
      if (
        open === undefined ||
        !text.startsWith(open, i + 2) ||
        (nameEnd !== next - 1 && text.slice(nameEnd, next - 1).trim())
      )
        fail(`end tag </${text.slice(i + 2, next - 1).trim()}> does not close <${open ?? '(none)'}>`);
      closed(open!, start, next, i);
    } else if (second === 33 || second === 63) {
      // <!-- -->, <![CDATA[ ]]>, <!DOCTYPE >, <? ?>
      if (text.startsWith('<!--', i)) next = skipTo('-->', i + 4, 'comment');
      else if (second === 63) next = skipTo('?>', i + 2, 'processing instruction');
      else if (text.startsWith('<![CDATA[', i)) {
        if (names.length === 0) fail('CDATA outside the root element');
        next = skipTo(']]>', i + 9, 'CDATA section');
      } else if (text.startsWith('<!DOCTYPE', i) && !root && !names.length) {
        next = skipTo('>', i, 'DOCTYPE');
        if (next !== undefined && text.slice(i, next).includes('['))
          fail('DOCTYPE with an internal subset (entity declarations) is not accepted');
      } else fail(`unexpected ${JSON.stringify(text.slice(i, i + 12))}`);
    } else {
      if (root) fail('a second root element');
      let j = i + 1;
      while (j < text.length && !isNameEnd(text.charCodeAt(j))) j++;
      const name = text.slice(i + 1, j);
      if (!name) fail('a < that starts no tag');
      const gt = tagEnd(text, j);
      if (gt < 0) {
        if (partial) return { complete: false };
        fail(`unterminated start tag <${name}`);
      }
      const selfClosing = text.charCodeAt(gt - 1) === 47;
      const depth = names.length;
      next = gt + 1;
      if (depth <= maxDepth) {
        const tag = new Tag(text, name, i, next, depth, selfClosing, j, selfClosing ? gt - 1 : gt);
        if (depth === 0) rootTag = tag;
        if (handlers.open?.(tag) === false) return { complete: false };
      } else if (depth === 0) rootTag = new Tag(text, name, i, next, 0, selfClosing, j, gt);
      if (selfClosing) closed(name, i, next, next);
      else {
        names.push(name);
        starts.push(i);
      }
    }
    if (next === undefined) return { complete: false };
    i = next;
  }
  if (names.length) {
    if (partial) return { complete: false };
    fail(`<${names.at(-1)}> is never closed`, text.length);
  }
  if (!root) {
    if (partial) return { complete: false };
    fail('no root element');
  }
  return { complete: true, root };
}

/** The root start tag of a document's head (the first kilobytes of a big file), once complete. */
export function rootStartTag(head: string): StartTag | undefined {
  let found: StartTag | undefined;
  scanXml(
    head,
    {
      open: (tag) => {
        found = tag;
        return false;
      },
    },
    { partial: true },
  );
  return found;
}
