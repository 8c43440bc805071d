import type { AslDefinition, AslState } from './asl.ts';

interface Edge {
  from: string;
  to: string;
  label?: string;
  dashed?: boolean;
}

interface Graph {
  nodes: Array<{ id: string; label: string; type: string; cluster: string[] }>;
  edges: Edge[];
  clusters: Map<string, string>;
}

const END = '__end__';

function edgesOf(name: string, state: AslState): Edge[] {
  const edges: Edge[] = [];
  if (state.Next) edges.push({ from: name, to: state.Next });
  if (state.End === true) edges.push({ from: name, to: END });
  for (const choice of state.Choices ?? []) {
    edges.push({ from: name, to: String(choice.Next), label: conditionLabel(choice) });
  }
  if (state.Default) edges.push({ from: name, to: state.Default, label: 'otherwise' });
  for (const c of state.Catch ?? [])
    edges.push({ from: name, to: c.Next, label: c.ErrorEquals.join(', '), dashed: true });
  return edges;
}

/** A short readable condition: `$.x == "Success"`, `or(…)`. */
function conditionLabel(rule: Record<string, unknown>): string {
  for (const op of ['And', 'Or'] as const) {
    const parts = rule[op];
    if (Array.isArray(parts))
      return `${op.toLowerCase()}(${parts.map((p) => conditionLabel(p as Record<string, unknown>)).join(', ')})`;
  }
  if (rule.Not) return `not ${conditionLabel(rule.Not as Record<string, unknown>)}`;
  const variable = String(rule.Variable ?? '');
  const [op, value] = Object.entries(rule).find(([k]) => k !== 'Variable' && k !== 'Next') ?? ['', ''];
  // Whole, never cut: a shortened label could turn a deadline of 46800 into 4.
  return `${variable} ${op} ${JSON.stringify(value)}`;
}

/** A Task's name with its deadline and heartbeat, as the ASL states them (seconds, exact). */
function nodeLabel(name: string, state: AslState): string {
  if (state.Type !== 'Task' || state.TimeoutSeconds === undefined) return name;
  const heartbeat =
    typeof state.HeartbeatSeconds === 'number' ? `, heartbeat ${state.HeartbeatSeconds} s` : '';
  return `${name} (timeout ${state.TimeoutSeconds} s${heartbeat})`;
}

function collect(definition: AslDefinition, graph: Graph, cluster: string[]): void {
  for (const [name, state] of Object.entries(definition.States)) {
    graph.nodes.push({ id: name, label: nodeLabel(name, state), type: state.Type, cluster });
    graph.edges.push(...edgesOf(name, state));
    const inner = [state.ItemProcessor ?? state.Iterator, ...(state.Branches ?? [])].filter(
      (d): d is AslDefinition => d !== undefined,
    );
    inner.forEach((sub, i) => {
      const id = `${name}#${i}`;
      graph.clusters.set(id, inner.length > 1 ? `${name} (branch ${i + 1})` : name);
      graph.edges.push({
        from: name,
        to: sub.StartAt,
        dashed: true,
        label: state.Type === 'Map' ? 'each item' : 'branch',
      });
      collect(sub, graph, [...cluster, id]);
    });
  }
}

function build(definition: AslDefinition): Graph {
  const graph: Graph = { nodes: [], edges: [], clusters: new Map() };
  collect(definition, graph, []);
  return graph;
}

/** Node ids both Mermaid and Graphviz accept: state names have spaces, colons and ?s. */
function idFor(ids: Map<string, string>, name: string): string {
  if (!ids.has(name)) ids.set(name, `s${ids.size}`);
  return ids.get(name)!;
}

const quote = (text: string) => text.replaceAll('"', "'");

const MERMAID_SHAPE: Record<string, (l: string) => string> = {
  Choice: (l) => `{"${l}"}`,
  Wait: (l) => `(["${l}"])`,
  Succeed: (l) => `(("${l}"))`,
  Fail: (l) => `[["${l}"]]`,
  Task: (l) => `["${l}"]`,
};

/** The state machine as a Mermaid flowchart. */
export function toMermaid(definition: AslDefinition): string {
  const graph = build(definition);
  const ids = new Map<string, string>();
  const lines = ['flowchart TD', `  start((start)) --> ${idFor(ids, definition.StartAt)}`];
  const byCluster = new Map<string, typeof graph.nodes>();
  for (const node of graph.nodes) {
    const key = node.cluster.at(-1) ?? '';
    byCluster.set(key, [...(byCluster.get(key) ?? []), node]);
  }
  const emit = (cluster: string, indent: string) => {
    for (const node of byCluster.get(cluster) ?? []) {
      const shape = MERMAID_SHAPE[node.type] ?? ((l: string) => `["${l}"]`);
      lines.push(`${indent}${idFor(ids, node.id)}${shape(quote(node.label))}`);
      for (const [id, label] of graph.clusters) {
        if (id.startsWith(`${node.id}#`) && byCluster.has(id)) {
          lines.push(`${indent}subgraph ${id.replaceAll(/[^A-Za-z0-9]/g, '_')}["${quote(label)}"]`);
          emit(id, `${indent}  `);
          lines.push(`${indent}end`);
        }
      }
    }
  };
  emit('', '  ');
  lines.push(`  ${END}((end))`);
  for (const e of graph.edges) {
    const arrow = e.dashed ? '-.->' : '-->';
    const label = e.label ? `|"${quote(e.label)}"|` : '';
    const to = e.to === END ? END : idFor(ids, e.to);
    lines.push(`  ${idFor(ids, e.from)} ${arrow}${label} ${to}`);
  }
  return `${lines.join('\n')}\n`;
}

const DOT_SHAPE: Record<string, string> = {
  Choice: 'diamond',
  Wait: 'ellipse',
  Succeed: 'doublecircle',
  Fail: 'octagon',
  Pass: 'note',
  Map: 'box3d',
  Parallel: 'box3d',
};

/** The state machine as Graphviz DOT. */
export function toDot(definition: AslDefinition, title: string): string {
  const graph = build(definition);
  const ids = new Map<string, string>();
  const lines = [
    `digraph "${quote(title)}" {`,
    '  rankdir=TB; node [shape=box, fontname="Helvetica"];',
    '  start [shape=circle, label="start"];',
  ];
  const emit = (cluster: string, indent: string) => {
    for (const node of graph.nodes.filter((n) => (n.cluster.at(-1) ?? '') === cluster)) {
      lines.push(
        `${indent}${idFor(ids, node.id)} [label="${quote(node.label)}", shape=${DOT_SHAPE[node.type] ?? 'box'}];`,
      );
      for (const [id, label] of graph.clusters) {
        if (!id.startsWith(`${node.id}#`)) continue;
        lines.push(
          `${indent}subgraph cluster_${id.replaceAll(/[^A-Za-z0-9]/g, '_')} {`,
          `${indent}  label="${quote(label)}";`,
        );
        emit(id, `${indent}  `);
        lines.push(`${indent}}`);
      }
    }
  };
  emit('', '  ');
  lines.push(`  ${END} [shape=doublecircle, label="end"];`, `  start -> ${idFor(ids, definition.StartAt)};`);
  for (const e of graph.edges) {
    const attrs = [e.label ? `label="${quote(e.label)}"` : '', e.dashed ? 'style=dashed' : '']
      .filter(Boolean)
      .join(', ');
    const to = e.to === END ? END : idFor(ids, e.to);
    lines.push(`  ${idFor(ids, e.from)} -> ${to}${attrs ? ` [${attrs}]` : ''};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
