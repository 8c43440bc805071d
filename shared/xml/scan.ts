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

/** Walks `text`; throws XmlSyntaxError (naming the line) unless it is one well-formed element. */
export function scanXml(text: string, handlers: ScanHandlers = {}, partial = false): ScanResult {
  const stack: StartTag[] = [];
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
  while (true) {
    const lt = text.indexOf('<', i);
    const textEnd = lt < 0 ? text.length : lt;
    if (stack.length === 0 && /[^ \t\r\n]/.test(text.slice(i, textEnd)))
      fail(root ? 'content after the root element' : 'text before the root element');
    if (lt < 0) break;
    i = lt;
    let next: number | undefined;
    const second = text.charCodeAt(i + 1);
    if (second === 33 || second === 63) {
      // <!-- -->, <![CDATA[ ]]>, <!DOCTYPE >, <? ?>
      if (text.startsWith('<!--', i)) next = skipTo('-->', i + 4, 'comment');
      else if (second === 63) next = skipTo('?>', i + 2, 'processing instruction');
      else if (text.startsWith('<![CDATA[', i)) {
        if (stack.length === 0) fail('CDATA outside the root element');
        next = skipTo(']]>', i + 9, 'CDATA section');
      } else if (text.startsWith('<!DOCTYPE', i) && !root && !stack.length) {
        next = skipTo('>', i, 'DOCTYPE');
        if (next !== undefined && text.slice(i, next).includes('['))
          fail('DOCTYPE with an internal subset (entity declarations) is not accepted');
      } else fail(`unexpected ${JSON.stringify(text.slice(i, i + 12))}`);
    } else if (second === 47) {
      next = skipTo('>', i, 'end tag');
      if (next === undefined) break;
      const open = stack.pop();
      const name = text.slice(i + 2, next - 1).trimEnd();
      if (open?.name !== name) fail(`end tag </${name}> does not close <${open?.name ?? '(none)'}>`);
      handlers.close?.(name, open!.depth, open!.start, next);
      if (stack.length === 0) root = { tag: open!, endTagStart: i, end: next };
    } else {
      if (root) fail('a second root element');
      let j = i + 1;
      while (j < text.length && !isNameEnd(text.charCodeAt(j))) j++;
      const name = text.slice(i + 1, j);
      if (!name) fail('a < that starts no tag');
      // The tag ends at the first > outside a quoted attribute value.
      j = tagEnd(text, j);
      if (j < 0) {
        if (partial) return { complete: false };
        fail(`unterminated start tag <${name}`);
      }
      const selfClosing = text.charCodeAt(j - 1) === 47;
      const attrFrom = i + 1 + name.length;
      const attrTo = selfClosing ? j - 1 : j;
      const tag = new Tag(text, name, i, j + 1, stack.length, selfClosing, attrFrom, attrTo);
      if (handlers.open?.(tag) === false) return { complete: false };
      next = j + 1;
      if (selfClosing) {
        handlers.close?.(name, tag.depth, tag.start, next);
        if (stack.length === 0) root = { tag, endTagStart: next, end: next };
      } else stack.push(tag);
    }
    if (next === undefined) return { complete: false };
    i = next;
  }
  if (stack.length) {
    if (partial) return { complete: false };
    fail(`<${stack.at(-1)!.name}> is never closed`, text.length);
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
    true,
  );
  return found;
}
