/**
 * DynamoDB ConditionExpression and FilterExpression for the local table, parsed once into a tree
 * and evaluated per item: attribute_exists/attribute_not_exists/begins_with/contains,
 * comparisons, BETWEEN, IN, AND/OR/NOT and parentheses over document paths (`a.b`, `a[0]`).
 * Anything else is an error naming the expression, never a silent pass; the parser records
 * which #names and :values it used, so a request can be refused for unused ones as DynamoDB does.
 */

import { RESERVED_WORDS } from './reserved-words.ts';

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

type Token = { kind: 'word' | 'name' | 'value' | 'number' | 'op' | 'punct'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re =
    /\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|(<>|<=|>=|=|<|>|\+|-)|([(),.[\]])|([A-Za-z_][A-Za-z0-9_]*)|([0-9]+))/y;
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
    else if (m[5]) tokens.push({ kind: 'word', text: m[5] });
    else tokens.push({ kind: 'number', text: m[6]! });
  }
  return tokens;
}

/** A document path: attribute names, and list indexes as numbers. */
export type Path = Array<string | number>;
export type Operand = { path: Path } | { value: AttributeValue };

/** Which #names and :values the expressions of one request used. */
export interface Usage {
  names: Set<string>;
  values: Set<string>;
}

export const newUsage = (): Usage => ({ names: new Set(), values: new Set() });

/**
 * DynamoDB refuses a request whose ExpressionAttributeNames or ExpressionAttributeValues name
 * something none of its expressions uses; so does the local table.
 */
export function requireAllUsed(input: ExpressionInput, usage: Usage): void {
  const unusedValues = Object.keys(input.values ?? {}).filter((k) => !usage.values.has(k));
  if (unusedValues.length)
    throw new ExpressionError(
      `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`,
    );
  const unusedNames = Object.keys(input.names ?? {}).filter((k) => !usage.names.has(k));
  if (unusedNames.length)
    throw new ExpressionError(
      `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`,
    );
}

export class Parser {
  private pos = 0;
  private readonly tokens: Token[];

  constructor(
    readonly source: string,
    private readonly input: ExpressionInput,
    private readonly usage: Usage = newUsage(),
  ) {
    this.tokens = tokenize(source);
    if (this.tokens.length === 0) throw new ExpressionError('an expression must not be empty');
  }

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
  /** The next word is a function name: `(` follows it. */
  callFollows(): boolean {
    return this.tokens[this.pos + 1]?.text === '(';
  }
  done(): boolean {
    return this.pos >= this.tokens.length;
  }
  requireDone(): void {
    if (!this.done())
      throw new ExpressionError(`unexpected ${this.peek()!.text} in ${JSON.stringify(this.source)}`);
  }

  path(): Path {
    const parts: Path = [this.pathName()];
    for (;;) {
      const t = this.peek();
      if (t?.text === '.') {
        this.next();
        parts.push(this.pathName());
      } else if (t?.text === '[') {
        this.next();
        const index = this.next();
        if (index.kind !== 'number')
          throw new ExpressionError(`a list index must be a number in ${JSON.stringify(this.source)}`);
        this.expect(']');
        parts.push(Number(index.text));
      } else return parts;
    }
  }
  private pathName(): string {
    const t = this.next();
    if (t.kind === 'name') {
      const name = this.input.names?.[t.text];
      if (name === undefined) throw new ExpressionError(`${t.text} is not in ExpressionAttributeNames`);
      this.usage.names.add(t.text);
      return name;
    }
    if (t.kind === 'word') {
      if (RESERVED_WORDS.has(t.text.toUpperCase()))
        throw new ExpressionError(
          `Attribute name is a reserved keyword; reserved keyword: ${t.text} (name it through ExpressionAttributeNames)`,
        );
      return t.text;
    }
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
      this.usage.values.add(t.text);
      return { value };
    }
    return { path: this.path() };
  }
}

export function lookup(item: Item | undefined, path: Path): AttributeValue | undefined {
  let cur: AttributeValue | undefined = item?.[path[0] as string];
  for (const key of path.slice(1)) {
    if (typeof key === 'number') cur = (cur?.L as AttributeValue[] | undefined)?.[key];
    else cur = (cur?.M as Item | undefined)?.[key];
  }
  return cur;
}

export function resolveOperand(item: Item | undefined, operand: Operand): AttributeValue | undefined {
  return 'value' in operand ? operand.value : lookup(item, operand.path);
}

export function scalar(v: AttributeValue | undefined): string | number | boolean | undefined {
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

/** A parsed condition: evaluate it against an item (undefined: no such item). */
export type Condition = (item: Item | undefined) => boolean;

function parseOr(p: Parser): Condition {
  let result = parseAnd(p);
  while (p.isWord('OR')) {
    p.next();
    const [lhs, rhs] = [result, parseAnd(p)];
    result = (item) => lhs(item) || rhs(item);
  }
  return result;
}

function parseAnd(p: Parser): Condition {
  let result = parseNot(p);
  while (p.isWord('AND')) {
    p.next();
    const [lhs, rhs] = [result, parseNot(p)];
    result = (item) => lhs(item) && rhs(item);
  }
  return result;
}

function parseNot(p: Parser): Condition {
  if (p.isWord('NOT')) {
    p.next();
    const inner = parseNot(p);
    return (item) => !inner(item);
  }
  return parsePrimary(p);
}

const FUNCTIONS = new Set(['attribute_exists', 'attribute_not_exists', 'begins_with', 'contains']);

function parseFunction(p: Parser, name: string): Condition {
  p.expect('(');
  const path = p.path();
  let arg: Operand | undefined;
  if (name === 'begins_with' || name === 'contains') {
    p.expect(',');
    arg = p.operand();
  }
  p.expect(')');
  if (name === 'attribute_exists') return (item) => lookup(item, path) !== undefined;
  if (name === 'attribute_not_exists') return (item) => lookup(item, path) === undefined;
  return (item) => {
    const value = lookup(item, path);
    const needle = resolveOperand(item, arg!);
    if (name === 'contains' && (value?.SS || value?.L)) {
      const members = (value.SS as unknown[] | undefined) ?? (value.L as AttributeValue[]);
      return members.some((m) => JSON.stringify(m) === JSON.stringify(value.SS ? needle?.S : needle));
    }
    const text = scalar(value);
    const part = scalar(needle);
    if (typeof text !== 'string' || typeof part !== 'string') return false;
    return name === 'begins_with' ? text.startsWith(part) : text.includes(part);
  };
}

function parsePrimary(p: Parser): Condition {
  const t = p.peek();
  if (t?.text === '(') {
    p.next();
    const inner = parseOr(p);
    p.expect(')');
    return inner;
  }
  if (t?.kind === 'word' && p.callFollows()) {
    if (!FUNCTIONS.has(t.text))
      throw new ExpressionError(
        `${t.text}() is not served by the local table in ${JSON.stringify(p.source)}`,
      );
    p.next();
    return parseFunction(p, t.text);
  }
  const left = p.operand();
  if (p.isWord('BETWEEN')) {
    p.next();
    const low = p.operand();
    p.expect('AND');
    const high = p.operand();
    return (item) =>
      compare('>=', resolveOperand(item, left), resolveOperand(item, low)) &&
      compare('<=', resolveOperand(item, left), resolveOperand(item, high));
  }
  if (p.isWord('IN')) {
    p.next();
    p.expect('(');
    const candidates = [p.operand()];
    while (p.peek()?.text === ',') {
      p.next();
      candidates.push(p.operand());
    }
    p.expect(')');
    return (item) =>
      candidates.some((c) => compare('=', resolveOperand(item, left), resolveOperand(item, c)));
  }
  const op = p.next();
  if (op.kind !== 'op' || op.text === '+' || op.text === '-')
    throw new ExpressionError(`expected a comparator, found ${op.text} in ${JSON.stringify(p.source)}`);
  const right = p.operand();
  return (item) => compare(op.text, resolveOperand(item, left), resolveOperand(item, right));
}

/** Parses a ConditionExpression or FilterExpression, recording the names and values it uses. */
export function parseCondition(expression: string, input: ExpressionInput, usage?: Usage): Condition {
  const p = new Parser(expression, input, usage);
  const condition = parseOr(p);
  p.requireDone();
  return condition;
}

/** True when `item` (undefined: no such item) satisfies the ConditionExpression. */
export function evaluateCondition(
  expression: string,
  item: Item | undefined,
  input: ExpressionInput,
): boolean {
  return parseCondition(expression, input)(item);
}
