import { Generator, Module, ModuleList, type NestedArray, Tensor, ValueError, add, nearestNames, tensor } from '@glassbox/tensor';
import { ActivationCache } from './activation-cache.ts';
import { TransformerBlock } from './components/block.ts';
import { Embed } from './components/embed.ts';
import { type Norm, makeNorm } from './components/norm.ts';
import { PosEmbed } from './components/pos-embed.ts';
import { Unembed } from './components/unembed.ts';
import { type TransformerConfig, type TransformerConfigInput, transformerConfig } from './config.ts';
import { HookNameError } from './hook-names.ts';
import { type BackwardHook, type ForwardHook, HookPoint } from './hook-point.ts';
import { lmLoss } from './loss.ts';

/** Token ids: an int32 tensor [batch, pos] or [pos], or nested arrays of integers. */
export type TokensLike = Tensor | NestedArray;

/** Which hook points a hook applies to: one name, several names, or a predicate over names. */
export type HookFilter = string | readonly string[] | ((name: string) => boolean);

export interface HookSpec {
  /** [filter, hook] pairs run in the forward pass; a hook may return a replacement activation. */
  fwdHooks?: ReadonlyArray<readonly [HookFilter, ForwardHook]>;
  /** [filter, hook] pairs run in the backward pass; a hook may return a replacement gradient. */
  bwdHooks?: ReadonlyArray<readonly [HookFilter, BackwardHook]>;
}

/** A scalar computed from the logits [batch, pos, d_vocab_out] and the tokens [batch, pos]. */
export type Metric = (logits: Tensor, tokens: Tensor) => Tensor;

export interface RunWithHooksOptions extends HookSpec {
  /**
   * With backward hooks, the scalar to differentiate inside the hooks' scope (default: the mean
   * next-token loss). Parameters' `.grad` accumulate as after any backward pass.
   */
  metric?: Metric;
}

export interface RunWithCacheOptions {
  /** Which activations to keep (default all). */
  namesFilter?: HookFilter;
  /**
   * Also keep the gradient of `metric` (default the mean next-token loss) with respect to each kept
   * activation, under `<name>_grad`. Parameters' `.grad` accumulate as after any backward pass.
   */
  inclBwd?: boolean;
  metric?: Metric;
}

/** How a new model's weights start. */
export type InitMode = 'random' | 'none';

export interface HookedTransformerOptions {
  /**
   * 'random' (the default) draws every weight matrix from `cfg.seed`. 'none' draws nothing and
   * leaves them at zero (norm weights one, biases zero), for a model whose weights are loaded right
   * after: for GPT-2 small that is a zero fill instead of 124M normal draws, most of the load time.
   */
  init?: InitMode;
}

const INIT_MODES: readonly InitMode[] = ['random', 'none'];

/**
 * A decoder-only transformer in which every notable activation passes through a named HookPoint,
 * with TransformerLens's hook names, parameter names and weight layouts (see HOOK_SHAPES):
 *
 *     embed → hook_embed (+ pos_embed → hook_pos_embed) → blocks.{l} → ln_final → unembed
 *
 * The state dict uses TransformerLens's keys: `embed.W_E`, `blocks.0.attn.W_Q`, `unembed.W_U`, ...
 */
export class HookedTransformer extends Module {
  readonly cfg: TransformerConfig;
  readonly embed: Embed;
  readonly hook_embed: HookPoint; // [batch, pos, d_model]
  readonly pos_embed: PosEmbed | null;
  readonly hook_pos_embed: HookPoint | null; // [batch, pos, d_model]
  readonly blocks: ModuleList<TransformerBlock>;
  readonly ln_final: Norm | null;
  readonly unembed: Unembed;
  readonly #hooks = new Map<string, HookPoint>();

  /**
   * Builds the model with random weights drawn from `cfg.seed`: N(0, initRange²) matrices, zero
   * biases, unit norms. With `init: 'none'` the matrices are zero and no random number is drawn.
   */
  constructor(config: TransformerConfig | TransformerConfigInput, options: HookedTransformerOptions = {}) {
    super();
    const cfg = transformerConfig(config);
    this.cfg = cfg;
    const init = options.init ?? 'random';
    if (!INIT_MODES.includes(init)) {
      throw new ValueError('unknown init mode', {
        op: 'HookedTransformer',
        arg: 'options.init',
        expected: INIT_MODES.map((m) => JSON.stringify(m)).join(' or '),
        given: JSON.stringify(init),
        suggestions: nearestNames(String(init), INIT_MODES),
      });
    }
    const generator = init === 'random' ? Generator.fromSeed(cfg.seed) : null;
    this.embed = this.module('embed', new Embed(cfg, generator));
    this.hook_embed = this.module('hook_embed', new HookPoint());
    const learnedPositions = cfg.positionalEmbeddingType !== 'rotary';
    this.pos_embed = learnedPositions ? this.module('pos_embed', new PosEmbed(cfg, generator)) : null;
    this.hook_pos_embed = learnedPositions ? this.module('hook_pos_embed', new HookPoint()) : null;
    this.blocks = this.module('blocks', new ModuleList(Array.from({ length: cfg.nLayers }, () => new TransformerBlock(cfg, generator))));
    const norm = makeNorm(cfg);
    this.ln_final = norm ? this.module('ln_final', norm) : null;
    this.unembed = this.module('unembed', new Unembed(cfg, generator));
    for (const [name, m] of this.namedModules()) {
      if (m instanceof HookPoint) {
        m.name = name;
        this.#hooks.set(name, m);
      }
    }
  }

  /** Every hook point's name, in the order the forward pass reaches them. */
  hookNames(): string[] {
    return [...this.#hooks.keys()];
  }

  /**
   * Lists extra hook points under their names, right after the hook point `after` (and after any
   * `<after>.…` points already there), until the returned function removes them. Splicing uses it for a dictionary's
   * `<hook>.hook_sae_acts_post` and the like, so that hooks, runWithHooks and runWithCache accept
   * those names as they accept the architecture's own.
   */
  addHookPoints(after: string, points: readonly HookPoint[]): () => void {
    this.hookPoint(after);
    for (const point of points) {
      if (this.#hooks.has(point.name) || point.name === '') {
        throw new ValueError('hook name already in use', { op: 'HookedTransformer.addHookPoints', arg: 'points', expected: 'new, non-empty hook names', given: JSON.stringify(point.name) });
      }
    }
    const entries = [...this.#hooks];
    let at = entries.findIndex(([name]) => name === after) + 1;
    while (at < entries.length && entries[at]![0].startsWith(`${after}.`)) at++;
    entries.splice(at, 0, ...points.map((p) => [p.name, p] as [string, HookPoint]));
    this.#hooks.clear();
    for (const [name, point] of entries) this.#hooks.set(name, point);
    return () => {
      for (const point of points) if (this.#hooks.get(point.name) === point) this.#hooks.delete(point.name);
    };
  }

  /** The hook point with this exact name; an unknown name raises a HookNameError suggesting the nearest names. */
  hookPoint(name: string): HookPoint {
    const hook = this.#hooks.get(name);
    if (hook) return hook;
    throw new HookNameError('unknown hook name', {
      op: 'HookedTransformer.hookPoint',
      arg: 'name',
      expected: `one of the model's ${this.#hooks.size} hook names (see hookNames())`,
      given: JSON.stringify(name),
      suggestions: nearestNames(name, this.#hooks.keys()),
    });
  }

  /** The hook points a filter selects; string names are checked. */
  resolveHooks(filter: HookFilter): HookPoint[] {
    if (typeof filter === 'function') return [...this.#hooks.values()].filter((h) => filter(h.name));
    const names = typeof filter === 'string' ? [filter] : filter;
    return names.map((name) => this.hookPoint(name));
  }

  /** Token ids as an int32 tensor [batch, pos], checked against dVocab and nCtx. */
  toTokens(tokens: TokensLike): Tensor {
    const op = 'HookedTransformer.forward';
    let t = tokens instanceof Tensor ? tokens : tensor(tokens, { dtype: 'int32' });
    if (t.dtype !== 'int32') throw new ValueError('tokens must be int32 ids', { op, arg: 'tokens', expected: 'int32', given: t.dtype });
    if (t.rank === 1) t = t.reshape([1, t.shape[0]!]);
    if (t.rank !== 2) throw new ValueError('tokens must be [batch, pos]', { op, arg: 'tokens', expected: 'rank 1 or 2', given: `rank ${t.rank}` });
    const pos = t.shape[1]!;
    if (pos > this.cfg.nCtx || pos === 0) {
      throw new ValueError('sequence length out of range', { op, arg: 'tokens', expected: `between 1 and nCtx = ${this.cfg.nCtx} positions`, given: String(pos) });
    }
    const bad = t.data().find((id) => id < 0 || id >= this.cfg.dVocab);
    if (bad !== undefined) throw new ValueError('token id out of range', { op, arg: 'tokens', expected: `ids in [0, ${this.cfg.dVocab - 1}]`, given: String(bad) });
    return t;
  }

  /** tokens [batch, pos] -> logits [batch, pos, d_vocab_out] */
  forward(tokens: TokensLike): Tensor {
    const ids = this.toTokens(tokens);
    const [batch, pos] = ids.shape as [number, number];
    let resid = this.hook_embed.forward(this.embed.forward(ids));
    let qkShift: Tensor | undefined;
    if (this.pos_embed && this.hook_pos_embed) {
      const positions = this.hook_pos_embed.forward(this.pos_embed.forward(batch, pos));
      if (this.cfg.positionalEmbeddingType === 'standard') resid = add(resid, positions);
      else qkShift = positions;
    }
    for (const block of this.blocks) resid = block.forward(resid, qkShift);
    if (this.ln_final) resid = this.ln_final.forward(resid);
    return this.unembed.forward(resid);
  }

  /** Mean next-token cross-entropy of the model on `tokens`. */
  loss(tokens: TokensLike): Tensor {
    const ids = this.toTokens(tokens);
    return lmLoss(this.forward(ids), ids);
  }

  /**
   * Runs `fn` with hooks attached, and removes them afterwards, even when `fn` throws. `fn` must be
   * synchronous: the hooks are gone once it returns.
   */
  withHooks<T>(spec: HookSpec, fn: () => T): T {
    const removers: Array<() => void> = [];
    try {
      for (const [filter, hook] of spec.fwdHooks ?? []) for (const point of this.resolveHooks(filter)) removers.push(point.addHook(hook, 'fwd'));
      for (const [filter, hook] of spec.bwdHooks ?? []) for (const point of this.resolveHooks(filter)) removers.push(point.addHook(hook, 'bwd'));
      return fn();
    } finally {
      for (const remove of removers.reverse()) remove();
    }
  }

  /**
   * The logits [batch, pos, d_vocab_out] with hooks attached for this call only. A forward hook that
   * returns a tensor replaces the activation (patching, ablation, steering). With backward hooks, the
   * metric is differentiated inside the scope so that they fire.
   */
  runWithHooks(tokens: TokensLike, options: RunWithHooksOptions = {}): Tensor {
    const ids = this.toTokens(tokens);
    return this.withHooks(options, () => {
      const logits = this.forward(ids);
      if ((options.bwdHooks?.length ?? 0) > 0) (options.metric ?? lmLoss)(logits, ids).backward();
      return logits;
    });
  }

  /**
   * The logits and an ActivationCache of every activation the filter selects (detached from the
   * graph). With `inclBwd`, the cache also holds `<name>_grad`: the gradient of the metric with
   * respect to that activation.
   */
  runWithCache(tokens: TokensLike, options: RunWithCacheOptions = {}): { logits: Tensor; cache: ActivationCache } {
    const ids = this.toTokens(tokens);
    const filter = options.namesFilter ?? (() => true);
    const store = new Map<string, Tensor>();
    const spec: HookSpec = {
      fwdHooks: [
        [
          filter,
          (act, hook) => {
            store.set(hook.name, act.detach());
          },
        ],
      ],
      bwdHooks: options.inclBwd
        ? [
            [
              filter,
              (grad, hook) => {
                store.set(`${hook.name}_grad`, grad);
              },
            ],
          ]
        : [],
    };
    const logits = this.withHooks(spec, () => {
      const out = this.forward(ids);
      if (options.inclBwd) (options.metric ?? lmLoss)(out, ids).backward();
      return out;
    });
    return { logits, cache: new ActivationCache(this, store) };
  }
}
