import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG document, headless (no canvas, no browser). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const BASE = { width: 480, height: 260, background: 'white', config: { font: 'sans-serif' } } as const;

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [x: number, y: number]>;
}

/** Lines over a shared x axis, with optional vertical markers (e.g. checkpoints). */
export function lineChart(options: { title: string; xTitle: string; yTitle: string; series: readonly Series[]; markers?: readonly number[]; logY?: boolean }): Promise<string> {
  const values = options.series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y })));
  return renderSvg({
    ...BASE,
    title: options.title,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: false },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: options.xTitle },
          y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: options.logY ? { type: 'log' } : { zero: false } },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
      ...(options.markers && options.markers.length > 0
        ? [
            {
              data: { values: options.markers.map((x) => ({ x })) },
              mark: { type: 'rule' as const, strokeDash: [3, 3], color: '#999', opacity: 0.6 },
              encoding: { x: { field: 'x', type: 'quantitative' as const } },
            },
          ]
        : []),
    ],
  } as TopLevelSpec);
}

/** A labelled matrix as coloured cells: rows down, columns across. Diverging colours when values change sign. */
export function heatmap(options: {
  title: string;
  rowTitle: string;
  columnTitle: string;
  rows: readonly string[];
  columns: readonly string[];
  values: ReadonlyArray<ReadonlyArray<number>>;
  cellSize?: number;
}): Promise<string> {
  const cells = options.rows.flatMap((row, i) => options.columns.map((column, j) => ({ row, column, value: options.values[i]?.[j] ?? 0 })));
  const signed = cells.some((c) => c.value < 0) && cells.some((c) => c.value > 0);
  const size = options.cellSize ?? 24;
  return renderSvg({
    background: 'white',
    title: options.title,
    width: Math.max(120, size * options.columns.length),
    height: Math.max(60, size * options.rows.length),
    data: { values: cells },
    mark: 'rect',
    encoding: {
      x: { field: 'column', type: 'ordinal', title: options.columnTitle, sort: [...options.columns] },
      y: { field: 'row', type: 'ordinal', title: options.rowTitle, sort: [...options.rows] },
      color: { field: 'value', type: 'quantitative', title: null, scale: signed ? { scheme: 'redblue', domainMid: 0, reverse: true } : { scheme: 'viridis' } },
      tooltip: [{ field: 'row' }, { field: 'column' }, { field: 'value', format: '.3f' }],
    },
  });
}

/** A histogram of raw values, binned into `bins` equal-width bins. */
export function histogram(options: { title: string; xTitle: string; values: readonly number[]; bins?: number }): Promise<string> {
  return renderSvg({
    ...BASE,
    title: options.title,
    data: { values: options.values.map((v) => ({ v })) },
    mark: 'bar',
    encoding: {
      x: { field: 'v', type: 'quantitative', bin: { maxbins: options.bins ?? 40 }, title: options.xTitle },
      y: { aggregate: 'count', type: 'quantitative', title: 'count' },
    },
  });
}

export interface GraphNode {
  id: string;
  /** Column of the layered layout: 0 for the embeddings, increasing towards the logits. */
  layer: number;
  label: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  score: number;
}

/** A layered circuit graph: nodes in columns by layer, edges as lines whose width and colour show the score. */
export function circuitGraph(options: { title: string; nodes: readonly GraphNode[]; edges: readonly GraphEdge[] }): Promise<string> {
  const byLayer = new Map<number, GraphNode[]>();
  for (const node of options.nodes) byLayer.set(node.layer, [...(byLayer.get(node.layer) ?? []), node]);
  const position = new Map<string, { x: number; y: number }>();
  for (const [layer, nodes] of byLayer) {
    nodes.forEach((node, i) => {
      position.set(node.id, { x: layer, y: i - (nodes.length - 1) / 2 });
    });
  }
  const edges = options.edges.flatMap((e) => {
    const a = position.get(e.from);
    const b = position.get(e.to);
    return a && b ? [{ x: a.x, y: a.y, x2: b.x, y2: b.y, score: e.score, magnitude: Math.abs(e.score) }] : [];
  });
  const nodes = options.nodes.map((n) => ({ ...position.get(n.id)!, label: n.label }));
  const hidden = { axis: null } as const;
  return renderSvg({
    background: 'white',
    title: options.title,
    width: 120 * Math.max(2, byLayer.size),
    height: 64 * Math.max(2, ...[...byLayer.values()].map((n) => n.length)),
    layer: [
      {
        data: { values: edges },
        mark: { type: 'rule', opacity: 0.8 },
        encoding: {
          x: { field: 'x', type: 'quantitative', ...hidden },
          y: { field: 'y', type: 'quantitative', ...hidden },
          x2: { field: 'x2' },
          y2: { field: 'y2' },
          strokeWidth: { field: 'magnitude', type: 'quantitative', scale: { range: [0.5, 5] }, legend: null },
          color: { field: 'score', type: 'quantitative', scale: { scheme: 'redblue', domainMid: 0, reverse: true }, title: 'score' },
        },
      },
      {
        data: { values: nodes },
        mark: { type: 'circle', size: 160, color: '#f2f2f2', stroke: '#444', opacity: 1 },
        encoding: { x: { field: 'x', type: 'quantitative', ...hidden }, y: { field: 'y', type: 'quantitative', ...hidden } },
      },
      {
        data: { values: nodes },
        mark: { type: 'text', fontSize: 11, dy: 16, baseline: 'top' },
        encoding: { x: { field: 'x', type: 'quantitative', ...hidden }, y: { field: 'y', type: 'quantitative', ...hidden }, text: { field: 'label' } },
      },
    ],
  } as TopLevelSpec);
}
