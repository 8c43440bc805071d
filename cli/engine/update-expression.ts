import {
  type AttributeValue,
  ExpressionError,
  type ExpressionInput,
  type Item,
  lookup,
  type Operand,
  Parser,
  type Path,
  resolveOperand,
  scalar,
  type Usage,
} from './expressions.ts';

/**
 * DynamoDB UpdateExpression for the local table: SET (with + and -, if_not_exists, list_append),
 * REMOVE (attributes and list elements), ADD (numbers and sets) and DELETE (from sets), each
 * clause once, paths that never overlap, every value computed from the item as it was.
 */

type ValueExpr = (before: Item) => AttributeValue | undefined;

interface Action {
  clause: 'SET' | 'REMOVE' | 'ADD' | 'DELETE';
  path: Path;
  value?: ValueExpr;
}

export interface ParsedUpdate {
  /** The paths the update writes, for the key and ReturnValues checks. */
  paths: Path[];
  apply(item: Item): Item;
}

const SET_TYPES = ['SS', 'NS', 'BS'] as const;
const setTypeOf = (v: AttributeValue | undefined) => SET_TYPES.find((t) => v && t in v);

function operandType(v: AttributeValue | undefined): string {
  return v ? Object.keys(v)[0]! : 'missing';
}

function wrongType(op: string, v: AttributeValue | undefined): ExpressionError {
  return new ExpressionError(
    `Incorrect operand type for operator or function; operator: ${op}, operand type: ${operandType(v)}`,
  );
}

function arithmetic(
  op: '+' | '-',
  a: AttributeValue | undefined,
  b: AttributeValue | undefined,
  operator: string = op,
) {
  const x = scalar(a);
  const y = scalar(b);
  if (typeof x !== 'number' || !a || !('N' in a)) throw wrongType(operator, a);
  if (typeof y !== 'number' || !b || !('N' in b)) throw wrongType(operator, b);
  return { N: String(op === '+' ? x + y : x - y) };
}

function listAppend(a: AttributeValue | undefined, b: AttributeValue | undefined): AttributeValue {
  if (!a?.L) throw wrongType('list_append', a);
  if (!b?.L) throw wrongType('list_append', b);
  return { L: [...(a.L as AttributeValue[]), ...(b.L as AttributeValue[])] };
}

function parseFunctionValue(p: Parser, name: string): ValueExpr {
  p.next();
  p.expect('(');
  if (name === 'if_not_exists') {
    const path = p.path();
    p.expect(',');
    const fallback = parseValueTerm(p);
    p.expect(')');
    return (before) => lookup(before, path) ?? fallback(before);
  }
  if (name === 'list_append') {
    const first = parseValueTerm(p);
    p.expect(',');
    const second = parseValueTerm(p);
    p.expect(')');
    return (before) => listAppend(first(before), second(before));
  }
  throw new ExpressionError(
    `${name}() is not an update function DynamoDB knows in ${JSON.stringify(p.source)}`,
  );
}

function parseValueTerm(p: Parser): ValueExpr {
  const t = p.peek();
  if (t?.kind === 'word' && p.callFollows()) return parseFunctionValue(p, t.text);
  const operand: Operand = p.operand();
  return (before) => resolveOperand(before, operand);
}

function parseSetValue(p: Parser): ValueExpr {
  const left = parseValueTerm(p);
  const op = p.peek();
  if (op?.text !== '+' && op?.text !== '-') {
    return (before) => {
      const value = left(before);
      if (value === undefined)
        throw new ExpressionError(
          'The provided expression refers to an attribute that does not exist in the item',
        );
      return value;
    };
  }
  p.next();
  const right = parseValueTerm(p);
  const sign = op.text;
  return (before) => arithmetic(sign, left(before), right(before));
}

const overlaps = (a: Path, b: Path) => a.every((part, i) => i >= b.length || b[i] === part);

/** Parses an UpdateExpression, recording the names and values it uses. */
export function parseUpdate(expression: string, input: ExpressionInput, usage?: Usage): ParsedUpdate {
  const p = new Parser(expression, input, usage);
  const actions: Action[] = [];
  const seen = new Set<string>();
  while (!p.done()) {
    const clause = p.next().text.toUpperCase();
    if (clause !== 'SET' && clause !== 'REMOVE' && clause !== 'ADD' && clause !== 'DELETE')
      throw new ExpressionError(`unsupported clause ${clause} in ${JSON.stringify(expression)}`);
    if (seen.has(clause))
      throw new ExpressionError(`The "${clause}" section can only be used once in an update expression`);
    seen.add(clause);
    do {
      if (p.peek()?.text === ',') p.next();
      const path = p.path();
      if (clause === 'SET') {
        p.expect('=');
        actions.push({ clause, path, value: parseSetValue(p) });
      } else if (clause === 'REMOVE') {
        actions.push({ clause, path });
      } else {
        const operand = p.operand();
        if (!('value' in operand))
          throw new ExpressionError(
            `${clause} takes a value (:name), not a path, in ${JSON.stringify(expression)}`,
          );
        actions.push({ clause, path, value: () => operand.value });
      }
    } while (p.peek()?.text === ',');
  }
  for (const [i, a] of actions.entries()) {
    for (const b of actions.slice(i + 1)) {
      if (overlaps(a.path, b.path))
        throw new ExpressionError(
          `Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [${a.path.join(', ')}], path two: [${b.path.join(', ')}]`,
        );
    }
  }
  return { paths: actions.map((a) => a.path), apply: (item) => applyActions(actions, item) };
}

/** The map or list holding `path`'s last part, or an error: DynamoDB creates no parents. */
function parentOf(item: Item, path: Path): { container: Item | AttributeValue[]; key: string | number } {
  let container: Item | AttributeValue[] = item;
  for (const part of path.slice(0, -1)) {
    const next: AttributeValue | undefined = Array.isArray(container)
      ? container[part as number]
      : container[part as string];
    const child = next?.M ?? next?.L;
    if (!child)
      throw new ExpressionError('The document path provided in the update expression is invalid for update');
    container = child as Item | AttributeValue[];
  }
  const key = path[path.length - 1]!;
  if (Array.isArray(container) !== (typeof key === 'number'))
    throw new ExpressionError('The document path provided in the update expression is invalid for update');
  return { container, key };
}

function write(item: Item, path: Path, value: AttributeValue): void {
  const { container, key } = parentOf(item, path);
  if (Array.isArray(container)) {
    const index = key as number;
    if (index >= container.length) container.push(value);
    else container[index] = value;
  } else container[key as string] = value;
}

/** A missing attribute or list element is no error; a missing parent map is, as in DynamoDB. */
function remove(item: Item, path: Path): void {
  const { container, key } = parentOf(item, path);
  if (Array.isArray(container)) container.splice(key as number, 1);
  else delete container[key as string];
}

function addTo(current: AttributeValue | undefined, value: AttributeValue): AttributeValue {
  const type = setTypeOf(value);
  if (!type && !('N' in value)) throw wrongType('ADD', value);
  if (current === undefined) return value;
  if (!type) return arithmetic('+', current, value, 'ADD');
  if (!(type in current)) throw wrongType('ADD', current);
  return { [type]: [...new Set([...(current[type] as string[]), ...(value[type] as string[])])] };
}

function deleteFrom(current: AttributeValue | undefined, value: AttributeValue): AttributeValue | undefined {
  const type = setTypeOf(value);
  if (!type) throw wrongType('DELETE', value);
  if (current === undefined) return undefined;
  if (!(type in current)) throw wrongType('DELETE', current);
  const drop = new Set(value[type] as string[]);
  const left = (current[type] as string[]).filter((m) => !drop.has(m));
  return left.length ? { [type]: left } : undefined;
}

function applyActions(actions: Action[], before: Item): Item {
  const updated = structuredClone(before);
  // Every value from the item as it was; list elements removed from the highest index down.
  const values = actions.map((a) => a.value?.(before));
  for (const [i, a] of actions.entries()) {
    const value = values[i];
    if (a.clause === 'SET') write(updated, a.path, value!);
    if (a.clause === 'ADD') write(updated, a.path, addTo(lookup(before, a.path), value!));
    if (a.clause === 'DELETE') {
      const left = deleteFrom(lookup(before, a.path), value!);
      if (left) write(updated, a.path, left);
      else remove(updated, a.path);
    }
  }
  const removals = actions.filter((a) => a.clause === 'REMOVE').map((a) => a.path);
  const lastIndex = (path: Path) => (typeof path.at(-1) === 'number' ? (path.at(-1) as number) : -1);
  for (const path of removals.sort((a, b) => lastIndex(b) - lastIndex(a))) remove(updated, path);
  return updated;
}

/** Applies an UpdateExpression to a copy of `item`. */
export function applyUpdate(expression: string, item: Item, input: ExpressionInput): Item {
  return parseUpdate(expression, input).apply(item);
}
