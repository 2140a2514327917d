import { describe, expect, it } from 'vitest';
import { circuitGraph, heatmap, histogram, lineChart } from './plots.ts';

describe('plots render to SVG', () => {
  it('line chart with checkpoint markers', async () => {
    const svg = await lineChart({
      title: 'loss',
      xTitle: 'step',
      yTitle: 'loss',
      series: [{ name: 'train', points: [[0, 4], [10, 2], [20, 1]] }],
      markers: [10],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('loss');
  });

  it('heatmap, histogram and circuit graph', async () => {
    const map = await heatmap({ title: 'patching', rowTitle: 'layer', columnTitle: 'head', rows: ['0', '1'], columns: ['0', '1'], values: [[0.1, -0.2], [0.9, 0]] });
    expect(map).toContain('<svg');
    expect(await histogram({ title: 'density', xTitle: 'log10', values: [-3, -2.5, -2, -1] })).toContain('<svg');
    const graph = await circuitGraph({
      title: 'circuit',
      nodes: [
        { id: 'embed', layer: 0, label: 'embed' },
        { id: 'a0.1', layer: 1, label: 'a0.1' },
        { id: 'logits', layer: 2, label: 'logits' },
      ],
      edges: [
        { from: 'embed', to: 'a0.1', score: 0.5 },
        { from: 'a0.1', to: 'logits', score: -0.2 },
      ],
    });
    expect(graph).toContain('a0.1');
  });
});
