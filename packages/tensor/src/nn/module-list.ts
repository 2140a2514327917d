import { ValueError } from '../errors.ts';
import { Module } from './module.ts';

/** An indexed list of child modules, named '0', '1', …, so that paths read `blocks.3.attn.W_Q`. */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  readonly #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  /** Appends a module under the next index and returns it. */
  push(module: M): M {
    this.#items.push(this.module(String(this.#items.length), module));
    return module;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The module at `index`; negative indices count from the end. */
  at(index: number): M {
    const item = this.#items.at(index);
    if (item === undefined || !Number.isInteger(index)) {
      throw new ValueError('index out of range', { op: 'ModuleList.at', arg: 'index', expected: `an integer in [${-this.length}, ${this.length - 1}]`, given: String(index) });
    }
    return item;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
}
