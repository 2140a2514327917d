import { noGrad } from '../autograd/graph.ts';
import { tensor } from '../creation.ts';
import { ShapeError, ValueError, formatShape, nearestNames } from '../errors.ts';
import { shapesEqual } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

/** Raised by `Module.loadStateDict` when keys are missing or unexpected; lists both. */
export class StateDictError extends ValueError {
  readonly missingKeys: readonly string[];
  readonly unexpectedKeys: readonly string[];

  constructor(missingKeys: readonly string[], unexpectedKeys: readonly string[], validKeys: readonly string[]) {
    const pool = missingKeys.length > 0 ? missingKeys : validKeys;
    const suggestions = [...new Set(unexpectedKeys.flatMap((key) => nearestNames(key, pool, 1)))];
    const parts: string[] = [];
    if (missingKeys.length > 0) parts.push(`${missingKeys.length} missing`);
    if (unexpectedKeys.length > 0) parts.push(`${unexpectedKeys.length} unexpected`);
    super(`state dict keys do not match the module (${parts.join(', ')})`, {
      op: 'Module.loadStateDict',
      arg: 'stateDict',
      expected: missingKeys.length > 0 ? `also the missing keys ${listKeys(missingKeys)}` : 'only keys of the module',
      given: unexpectedKeys.length > 0 ? `the unexpected keys ${listKeys(unexpectedKeys)}` : 'no unexpected keys',
      suggestions,
    });
    this.missingKeys = missingKeys;
    this.unexpectedKeys = unexpectedKeys;
  }
}

function listKeys(keys: readonly string[], limit = 8): string {
  const shown = keys.slice(0, limit).map((k) => `\`${k}\``);
  return keys.length > limit ? `${shown.join(', ')} and ${keys.length - limit} more` : shown.join(', ');
}

/** Throws unless `value` is a non-negative integer: layer sizes. */
export function checkSize(op: string, arg: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new ValueError(`\`${arg}\` must be a non-negative integer`, { op, arg, expected: 'a non-negative integer', given: String(value) });
  }
}

export interface LoadStateDictOptions {
  /** When true (the default), missing and unexpected keys throw a StateDictError. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * The base of every layer: a tree of named parameters, buffers and child modules.
 *
 * Subclasses register what they own in their constructor, and the registration returns the value,
 * so a field and its name are declared together:
 *
 *     this.weight = this.param('weight', zeros([out, inFeatures]));
 *     this.attn = this.module('attn', new Attention(cfg));
 *
 * Names are dotted paths in registration order, parameters and buffers before children at each
 * level: `blocks.0.attn.W_Q`. Forward methods are ordinary methods with their own signatures.
 */
export class Module {
  /** Set by train() and eval(); layers whose behaviour differs in training read it. */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, { value: Tensor; persistent: boolean }>();
  readonly #children = new Map<string, Module>();

  #checkName(kind: string, name: string): void {
    if (name === '' || name.includes('.')) {
      throw new ValueError(`invalid ${kind} name`, { op: `Module.${kind}`, arg: 'name', expected: 'a non-empty name without dots', given: JSON.stringify(name) });
    }
    if (this.#params.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new ValueError(`name already registered`, { op: `Module.${kind}`, arg: 'name', expected: 'a name not yet used in this module', given: JSON.stringify(name) });
    }
  }

  /** Registers a trainable tensor (made a leaf that requires grad) and returns it. */
  protected param(name: string, value: Tensor): Tensor {
    this.#checkName('param', name);
    const leaf = (value.isLeaf ? value : value.detach()).setRequiresGrad(true);
    this.#params.set(name, leaf);
    return leaf;
  }

  /** Registers a non-trainable tensor; a persistent one (the default) is part of the state dict. */
  protected buffer(name: string, value: Tensor, options: { persistent?: boolean } = {}): Tensor {
    this.#checkName('buffer', name);
    const { persistent = true } = options;
    this.#buffers.set(name, { value, persistent });
    return value;
  }

  /** Registers a child module and returns it. */
  protected module<M extends Module>(name: string, child: M): M {
    this.#checkName('module', name);
    if (!(child instanceof Module)) {
      throw new ValueError('not a Module', { op: 'Module.module', arg: 'child', expected: 'a Module instance', given: typeof child });
    }
    this.#children.set(name, child);
    return child;
  }

  /** This module and every descendant, with dotted names ('' for this one), parents first. */
  *namedModules(prefix = ''): IterableIterator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.#children) yield* child.namedModules(prefix === '' ? name : `${prefix}.${name}`);
  }

  /** The direct children, by name. */
  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this.#children;
  }

  /** Every parameter with its dotted name; a parameter shared by two modules is listed once, under its first name. */
  *namedParameters(): IterableIterator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules()) {
      for (const [name, p] of m.#params) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [path === '' ? name : `${path}.${name}`, p];
      }
    }
  }

  parameters(): Tensor[] {
    return Array.from(this.namedParameters(), ([, p]) => p);
  }

  *namedBuffers(): IterableIterator<[string, Tensor]> {
    for (const [path, m] of this.namedModules()) {
      for (const [name, b] of m.#buffers) yield [path === '' ? name : `${path}.${name}`, b.value];
    }
  }

  /** The live tensors the state dict covers: every parameter and persistent buffer, shared ones under each name. */
  #stateEntries(): Map<string, Tensor> {
    const entries = new Map<string, Tensor>();
    for (const [path, m] of this.namedModules()) {
      const key = (name: string): string => (path === '' ? name : `${path}.${name}`);
      for (const [name, p] of m.#params) entries.set(key(name), p);
      for (const [name, b] of m.#buffers) if (b.persistent) entries.set(key(name), b.value);
    }
    return entries;
  }

  /** A snapshot of every parameter and persistent buffer by dotted name; later updates do not change it. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [key, t] of this.#stateEntries()) out[key] = tensor(t.data(), { shape: t.shape, dtype: t.dtype, backend: t.backend });
    return out;
  }

  /**
   * Copies values from `dict` into the parameters and buffers in place, so references to them stay
   * valid. Everything is checked before anything is written: a shape mismatch is a ShapeError naming
   * the key; with `strict` (the default) missing or unexpected keys are a StateDictError.
   */
  loadStateDict(dict: Readonly<Record<string, Tensor>>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const { strict = true } = options;
    const entries = this.#stateEntries();
    const missingKeys = [...entries.keys()].filter((k) => !Object.hasOwn(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !entries.has(k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      throw new StateDictError(missingKeys, unexpectedKeys, [...entries.keys()]);
    }
    for (const [key, target] of entries) {
      const src = dict[key];
      if (src !== undefined && !shapesEqual(src.shape, target.shape)) {
        throw new ShapeError('state dict tensor has the wrong shape', {
          op: 'Module.loadStateDict',
          arg: key,
          expected: formatShape(target.shape),
          given: formatShape(src.shape),
        });
      }
    }
    noGrad(() => {
      for (const [key, target] of entries) {
        const src = dict[key];
        if (src === undefined) continue;
        const local = src.backend === target.backend ? src : tensor(src.data(), { shape: src.shape, dtype: src.dtype, backend: target.backend });
        target.copyFrom(local);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Drops every parameter's gradient (sets `.grad` to null). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }
}
