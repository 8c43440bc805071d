/**
 * DynamoDB ConditionExpression and UpdateExpression for the local table: the subset the state
 * machines use (attribute_exists/attribute_not_exists/begins_with, comparisons, BETWEEN, IN,
 * AND/OR/NOT, parentheses; SET with +/- and if_not_exists, REMOVE). Anything else is an error
 * naming the expression, never a silent pass.
 */

/** A DynamoDB attribute value in its wire form: `{S: 'x'}`, `{N: '3'}`, `{BOOL: true}`, … */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

export interface ExpressionInput {
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
}

export class ExpressionError extends Error {
  override readonly name = 'ValidationException';
}

type Token = { kind: 'word' | 'name' | 'value' | 'op' | 'punct'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|(<>|<=|>=|=|<|>|\+|-)|([(),.[\]])|([A-Za-z_][A-Za-z0-9_]*))/y;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new ExpressionError(`cannot parse expression at ${JSON.stringify(text.slice(pos))}`);
    pos = re.lastIndex;
    if (m[1]) tokens.push({ kind: 'name', text: m[1] });
    else if (m[2]) tokens.push({ kind: 'value', text: m[2] });
    else if (m[3]) tokens.push({ kind: 'op', text: m[3] });
    else if (m[4]) tokens.push({ kind: 'punct', text: m[4] });
    else tokens.push({ kind: 'word', text: m[5]! });
  }
  return tokens;
}

type Operand = { path: string[] } | { value: AttributeValue };

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly input: ExpressionInput,
    private readonly source: string,
  ) {}

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new ExpressionError(`unexpected end of expression ${JSON.stringify(this.source)}`);
    return t;
  }
  isWord(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }
  expect(text: string): void {
    const t = this.next();
    if (t.text.toUpperCase() !== text) {
      throw new ExpressionError(`expected ${text} but found ${t.text} in ${JSON.stringify(this.source)}`);
    }
  }
  done(): boolean {
    return this.pos >= this.tokens.length;
  }

  path(): string[] {
    const parts = [this.pathPart()];
    while (this.peek()?.text === '.') {
      this.next();
      parts.push(this.pathPart());
    }
    return parts;
  }
  private pathPart(): string {
    const t = this.next();
    if (t.kind === 'name') {
      const name = this.input.names?.[t.text];
      if (name === undefined) throw new ExpressionError(`${t.text} is not in ExpressionAttributeNames`);
      return name;
    }
    if (t.kind === 'word') return t.text;
    throw new ExpressionError(
      `expected an attribute name, found ${t.text} in ${JSON.stringify(this.source)}`,
    );
  }
  operand(): Operand {
    const t = this.peek();
    if (t?.kind === 'value') {
      this.next();
      const value = this.input.values?.[t.text];
      if (value === undefined) throw new ExpressionError(`${t.text} is not in ExpressionAttributeValues`);
      return { value };
    }
    return { path: this.path() };
  }
}

function lookup(item: Item | undefined, path: string[]): AttributeValue | undefined {
  let cur: AttributeValue | undefined = item?.[path[0]!];
  for (const key of path.slice(1)) {
    const map = cur?.M as Item | undefined;
    cur = map?.[key];
  }
  return cur;
}

function resolveOperand(item: Item | undefined, operand: Operand): AttributeValue | undefined {
  return 'value' in operand ? operand.value : lookup(item, operand.path);
}

function scalar(v: AttributeValue | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  if ('S' in v) return v.S as string;
  if ('N' in v) return Number(v.N);
  if ('BOOL' in v) return v.BOOL as boolean;
  return JSON.stringify(v);
}

function compare(op: string, a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  const x = scalar(a);
  const y = scalar(b);
  if (x === undefined || y === undefined) return op === '<>' && x !== y;
  if (typeof x !== typeof y) return op === '<>';
  switch (op) {
    case '=':
      return x === y;
    case '<>':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
  throw new ExpressionError(`unknown comparator ${op}`);
}

function evalOr(p: Parser, item: Item | undefined): boolean {
  let result = evalAnd(p, item);
  while (p.isWord('OR')) {
    p.next();
    const rhs = evalAnd(p, item);
    result = result || rhs;
  }
  return result;
}

function evalAnd(p: Parser, item: Item | undefined): boolean {
  let result = evalNot(p, item);
  while (p.isWord('AND')) {
    p.next();
    const rhs = evalNot(p, item);
    result = result && rhs;
  }
  return result;
}

function evalNot(p: Parser, item: Item | undefined): boolean {
  if (p.isWord('NOT')) {
    p.next();
    return !evalNot(p, item);
  }
  return evalPrimary(p, item);
}

const FUNCTIONS = new Set(['attribute_exists', 'attribute_not_exists', 'begins_with', 'contains']);

function evalPrimary(p: Parser, item: Item | undefined): boolean {
  const t = p.peek();
  if (t?.text === '(') {
    p.next();
    const inner = evalOr(p, item);
    p.expect(')');
    return inner;
  }
  if (t?.kind === 'word' && FUNCTIONS.has(t.text)) {
    p.next();
    p.expect('(');
    const path = p.path();
    const value = lookup(item, path);
    let arg: AttributeValue | undefined;
    if (t.text === 'begins_with' || t.text === 'contains') {
      p.expect(',');
      arg = resolveOperand(item, p.operand());
    }
    p.expect(')');
    if (t.text === 'attribute_exists') return value !== undefined;
    if (t.text === 'attribute_not_exists') return value === undefined;
    const text = scalar(value);
    const needle = scalar(arg);
    if (typeof text !== 'string' || typeof needle !== 'string') return false;
    return t.text === 'begins_with' ? text.startsWith(needle) : text.includes(needle);
  }
  const left = resolveOperand(item, p.operand());
  if (p.isWord('BETWEEN')) {
    p.next();
    const low = resolveOperand(item, p.operand());
    p.expect('AND');
    const high = resolveOperand(item, p.operand());
    return compare('>=', left, low) && compare('<=', left, high);
  }
  if (p.isWord('IN')) {
    p.next();
    p.expect('(');
    const candidates = [resolveOperand(item, p.operand())];
    while (p.peek()?.text === ',') {
      p.next();
      candidates.push(resolveOperand(item, p.operand()));
    }
    p.expect(')');
    return candidates.some((c) => compare('=', left, c));
  }
  const op = p.next();
  if (op.kind !== 'op') throw new ExpressionError(`expected a comparator, found ${op.text}`);
  return compare(op.text, left, resolveOperand(item, p.operand()));
}

/** True when `item` (undefined: no such item) satisfies the ConditionExpression. */
export function evaluateCondition(
  expression: string,
  item: Item | undefined,
  input: ExpressionInput,
): boolean {
  const p = new Parser(tokenize(expression), input, expression);
  const result = evalOr(p, item);
  if (!p.done()) throw new ExpressionError(`unexpected ${p.peek()!.text} in ${JSON.stringify(expression)}`);
  return result;
}

function setAt(item: Item, path: string[], value: AttributeValue | undefined): void {
  let target = item;
  for (const key of path.slice(0, -1)) {
    const next = target[key]?.M as Item | undefined;
    if (!next) throw new ExpressionError(`cannot set ${path.join('.')}: ${key} is not a map`);
    target = next;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete target[last];
  else target[last] = value;
}

function arithmetic(
  op: string,
  a: AttributeValue | undefined,
  b: AttributeValue | undefined,
): AttributeValue {
  const x = scalar(a);
  const y = scalar(b);
  if (typeof x !== 'number' || typeof y !== 'number') {
    throw new ExpressionError(`${op} needs two numbers`);
  }
  return { N: String(op === '+' ? x + y : x - y) };
}

function setValue(p: Parser, item: Item): AttributeValue | undefined {
  let value: AttributeValue | undefined;
  if (p.isWord('IF_NOT_EXISTS')) {
    p.next();
    p.expect('(');
    const existing = lookup(item, p.path());
    p.expect(',');
    const fallback = resolveOperand(item, p.operand());
    p.expect(')');
    value = existing ?? fallback;
  } else {
    value = resolveOperand(item, p.operand());
  }
  const op = p.peek();
  if (op?.text === '+' || op?.text === '-') {
    p.next();
    return arithmetic(op.text, value, resolveOperand(item, p.operand()));
  }
  return value;
}

/** Applies an UpdateExpression (SET and REMOVE clauses) to a copy of `item`. */
export function applyUpdate(expression: string, item: Item, input: ExpressionInput): Item {
  const updated = structuredClone(item);
  const p = new Parser(tokenize(expression), input, expression);
  while (!p.done()) {
    const clause = p.next().text.toUpperCase();
    if (clause !== 'SET' && clause !== 'REMOVE') {
      throw new ExpressionError(`unsupported clause ${clause} in ${JSON.stringify(expression)}`);
    }
    do {
      if (p.peek()?.text === ',') p.next();
      const path = p.path();
      if (clause === 'SET') {
        p.expect('=');
        setAt(updated, path, setValue(p, item));
      } else {
        setAt(updated, path, undefined);
      }
    } while (p.peek()?.text === ',');
  }
  return updated;
}
