import { describe, expect, it } from 'vitest';
import { ones, tensor, zeros } from '../creation.ts';
import { ShapeError, ValueError } from '../errors.ts';
import type { Tensor } from '../tensor.ts';
import { Linear } from './linear.ts';
import { Module, StateDictError } from './module.ts';
import { ModuleList } from './module-list.ts';

class Attention extends Module {
  readonly W_Q: Tensor;
  readonly W_K: Tensor;
  constructor() {
    super();
    this.W_Q = this.param('W_Q', zeros([2, 3]));
    this.W_K = this.param('W_K', zeros([2, 3]));
    this.buffer('mask', ones([3, 3]));
    this.buffer('scratch', zeros([1]), { persistent: false });
  }
}

class Block extends Module {
  readonly attn: Attention;
  readonly scale: Tensor;
  constructor() {
    super();
    this.scale = this.param('scale', ones([3]));
    this.attn = this.module('attn', new Attention());
  }
}

class Tiny extends Module {
  readonly blocks: ModuleList<Block>;
  readonly head: Linear;
  constructor() {
    super();
    this.blocks = this.module('blocks', new ModuleList([new Block(), new Block()]));
    this.head = this.module('head', new Linear(3, 2));
  }
}

const expectedParams = [
  'blocks.0.scale',
  'blocks.0.attn.W_Q',
  'blocks.0.attn.W_K',
  'blocks.1.scale',
  'blocks.1.attn.W_Q',
  'blocks.1.attn.W_K',
  'head.weight',
  'head.bias',
];

function numbered(model: Module): Record<string, Tensor> {
  const dict = model.stateDict();
  let k = 0;
  for (const key of Object.keys(dict)) dict[key] = tensor(Array.from({ length: dict[key]!.size }, () => k++), { shape: dict[key]!.shape });
  return dict;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('Module', () => {
  it('names parameters by dotted path in registration order', () => {
    const model = new Tiny();
    expect(Array.from(model.namedParameters(), ([name]) => name)).toEqual(expectedParams);
    expect(model.parameters()).toHaveLength(8);
    expect(model.parameters().every((p) => p.requiresGrad && p.isLeaf)).toBe(true);
    expect(Array.from(model.namedModules(), ([name]) => name)).toEqual(['', 'blocks', 'blocks.0', 'blocks.0.attn', 'blocks.1', 'blocks.1.attn', 'head']);
    expect(Array.from(model.namedBuffers(), ([name]) => name)).toEqual(['blocks.0.attn.mask', 'blocks.0.attn.scratch', 'blocks.1.attn.mask', 'blocks.1.attn.scratch']);
    expect(model.blocks.at(-1)).toBe(model.blocks.at(1));
    expect([...model.blocks]).toHaveLength(2);
  });

  it('puts parameters and persistent buffers in the state dict', () => {
    const keys = Object.keys(new Tiny().stateDict());
    expect(keys).toEqual([
      'blocks.0.scale',
      'blocks.0.attn.W_Q',
      'blocks.0.attn.W_K',
      'blocks.0.attn.mask',
      'blocks.1.scale',
      'blocks.1.attn.W_Q',
      'blocks.1.attn.W_K',
      'blocks.1.attn.mask',
      'head.weight',
      'head.bias',
    ]);
  });

  it('round-trips a state dict in place, and the state dict is a snapshot', () => {
    const model = new Tiny();
    const weight = model.head.weight;
    const dict = numbered(model);
    expect(model.loadStateDict(dict)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(model.head.weight).toBe(weight);
    const back = model.stateDict();
    for (const [key, value] of Object.entries(dict)) expect(back[key]!.data()).toEqual(value.data());
    model.loadStateDict(new Tiny().stateDict());
    expect(back['head.weight']!.data()).toEqual(dict['head.weight']!.data());
    expect(model.head.weight.requiresGrad && model.head.weight.isLeaf).toBe(true);
  });

  it('names missing and unexpected keys and suggests the nearest', () => {
    const model = new Tiny();
    const dict = model.stateDict();
    dict['blocks.0.attn.W_q'] = dict['blocks.0.attn.W_Q']!;
    delete dict['blocks.0.attn.W_Q'];
    const error = thrown(() => model.loadStateDict(dict)) as StateDictError;
    expect(error).toBeInstanceOf(StateDictError);
    expect(error).toBeInstanceOf(ValueError);
    expect(error.missingKeys).toEqual(['blocks.0.attn.W_Q']);
    expect(error.unexpectedKeys).toEqual(['blocks.0.attn.W_q']);
    expect(error.suggestions).toEqual(['blocks.0.attn.W_Q']);
    expect(error.message).toContain('Did you mean `blocks.0.attn.W_Q`?');
    expect(error.message).toContain('1 missing, 1 unexpected');

    const onlyExtra = { ...model.stateDict(), 'head.bais': zeros([2]) };
    const extra = thrown(() => model.loadStateDict(onlyExtra)) as StateDictError;
    expect(extra.unexpectedKeys).toEqual(['head.bais']);
    expect(extra.suggestions).toEqual(['head.bias']);
  });

  it('loads what matches when not strict, and reports the rest', () => {
    const model = new Tiny();
    const result = model.loadStateDict({ 'head.bias': tensor([5, 6]), 'head.extra': zeros([1]) }, { strict: false });
    expect(result.unexpectedKeys).toEqual(['head.extra']);
    expect(result.missingKeys).toHaveLength(9);
    expect(Array.from(model.head.bias!.data())).toEqual([5, 6]);
  });

  it('names the key and both shapes on a shape mismatch, and writes nothing', () => {
    const model = new Tiny();
    const before = model.head.bias!.data();
    const dict = { ...numbered(model), 'blocks.1.attn.W_K': zeros([3, 2]) };
    const error = thrown(() => model.loadStateDict(dict)) as ShapeError;
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.arg).toBe('blocks.1.attn.W_K');
    expect(error.expected).toBe('[2, 3]');
    expect(error.given).toBe('[3, 2]');
    expect(model.head.bias!.data()).toEqual(before);
  });

  it('lists a shared parameter once, under its first name (own parameters before children), and keeps every name in the state dict', () => {
    class Tied extends Module {
      readonly a: Linear;
      constructor() {
        super();
        this.a = this.module('a', new Linear(2, 2));
        this.param('tiedWeight', this.a.weight);
        this.module('alias', this.a);
      }
    }
    const tied = new Tied();
    expect(Array.from(tied.namedParameters(), ([n]) => n)).toEqual(['tiedWeight', 'a.bias']);
    expect(Object.keys(tied.stateDict())).toEqual(['tiedWeight', 'a.weight', 'a.bias', 'alias.weight', 'alias.bias']);
    const dict = tied.stateDict();
    dict['a.weight'] = tensor([[1, 2], [3, 4]]);
    dict.tiedWeight = dict['a.weight'];
    dict['alias.weight'] = dict['a.weight'];
    tied.loadStateDict(dict);
    expect(tied.a.weight.toArray()).toEqual([[1, 2], [3, 4]]);
  });

  it('zeroes gradients and switches train/eval mode recursively', () => {
    const model = new Tiny();
    model.head.forward(ones([1, 3])).sum().backward();
    expect(model.head.weight.grad).not.toBeNull();
    model.zeroGrad();
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    expect(model.eval()).toBe(model);
    expect(Array.from(model.namedModules()).every(([, m]) => !m.training)).toBe(true);
    model.train();
    expect(model.blocks.at(0).attn.training).toBe(true);
  });

  it('rejects bad or repeated names', () => {
    class Bad extends Module {
      constructor(name: string, twice = false) {
        super();
        this.param(name, zeros([1]));
        if (twice) this.module(name, new Module());
      }
    }
    expect(() => new Bad('a.b')).toThrow(/invalid param name/);
    expect(() => new Bad('')).toThrow(ValueError);
    expect(() => new Bad('w', true)).toThrow(/already registered/);
    expect(() => new ModuleList().at(0)).toThrow(/out of range/);
  });
});
