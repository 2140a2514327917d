import { ShapeError, type Tensor, ValueError, add, formatShape, noGrad, sub } from '@glassbox/tensor';
import { HookPoint } from '../hook-point.ts';
import type { HookedTransformer } from '../hooked-transformer.ts';
import { type Dictionary, type SaeHookPoint, saeHookName } from './dictionary.ts';

export interface SpliceOptions {
  /**
   * Add the error term x_out − decode(encode(x_in)) back, so that the forward pass is unchanged
   * until something patches a latent: SAELens's use_error_term. Default false.
   *
   * As in SAELens the error is computed from the clean reconstruction, ignoring hooks on the
   * dictionary's own points, so it is a constant with respect to the latents: patching a latent
   * moves the output by its decoder direction only. Gradients are those of this forward pass: the
   * latents' through the decoder, the error's (a leaf on the tape, so that `hook_sae_error` has a
   * gradient) equal to the output's, and upstream of the splice the same as without it, since the
   * spliced activation is x_out plus what the hooks change (Marks et al. 2024's pass-through; SAELens
   * instead detaches the error, so its upstream gradients run through the encoder).
   */
  includeError?: boolean;
}

/** Views an activation as [batch, pos, width], flattening the head axes of hook_z, and back. */
function asWidth(activation: Tensor, width: number, hook: string, what: string): { x: Tensor; back: (y: Tensor) => Tensor } {
  if (activation.shape[activation.rank - 1] === width) return { x: activation, back: (y) => y };
  const flat = activation.shape.slice(2).reduce((n, d) => n * d, 1);
  if (activation.rank < 3 || flat !== width) {
    throw new ShapeError("the activation does not match the dictionary's width", {
      op: 'spliceDictionaries',
      arg: 'dictionaries',
      expected: `${what} = ${width} at ${hook}`,
      given: `an activation of shape ${formatShape(activation.shape)}`,
    });
  }
  const x = activation.reshape([...activation.shape.slice(0, 2), width]);
  return { x, back: (y) => y.reshape(activation.shape) };
}

function hookPoint(dictionary: Dictionary, point: SaeHookPoint): HookPoint {
  const h = new HookPoint();
  h.name = saeHookName(dictionary, point);
  return h;
}

/** Latents of one forward pass, from the hook the dictionary reads to the hook it writes. */
interface Encoded {
  /** The dictionary's input as the model produced it. // [batch, pos, d_in] */
  x: Tensor;
  /** After the hooks on the input and the latents. // [batch, pos, d_sae] */
  latents: Tensor;
  /** Whether a hook could have changed the latents, so that the clean reconstruction must be recomputed. */
  hooked: boolean;
}

/** Adds one dictionary's hook points and splice hooks; returns what removes them. */
function attach(model: HookedTransformer, dictionary: Dictionary, includeError: boolean): Array<() => void> {
  const withPre = typeof dictionary.encodePre === 'function' && typeof dictionary.activate === 'function';
  const input = hookPoint(dictionary, 'hook_sae_input');
  const pre = withPre ? hookPoint(dictionary, 'hook_sae_acts_pre') : null;
  const post = hookPoint(dictionary, 'hook_sae_acts_post');
  const recons = hookPoint(dictionary, 'hook_sae_recons');
  const error = includeError ? hookPoint(dictionary, 'hook_sae_error') : null;
  const output = hookPoint(dictionary, 'hook_sae_output');

  const encode = (activation: Tensor): Encoded => {
    const { x } = asWidth(activation, dictionary.dIn, dictionary.hookName, 'dIn');
    const hooked = input.isActive || (pre?.isActive ?? false) || post.isActive;
    // With the error term the output passes x_out straight through, so the encoder reads a leaf.
    const leaf = includeError ? x.detach().setRequiresGrad(x.requiresGrad) : x;
    const sin = input.forward(leaf);
    const acts = pre ? dictionary.activate!(pre.forward(dictionary.encodePre!(sin))) : dictionary.encode(sin);
    return { x, latents: post.forward(acts), hooked };
  };
  const decode = (activation: Tensor, encoded: Encoded): Tensor => {
    const { x, back } = asWidth(activation, dictionary.dOut, dictionary.outHookName, 'dOut');
    const hooked = encoded.hooked || recons.isActive;
    const rec = recons.forward(dictionary.decode(encoded.latents));
    if (!error) return back(output.forward(rec));
    const err = noGrad(() => sub(x, hooked ? dictionary.decode(dictionary.encode(encoded.x)) : rec));
    if (rec.requiresGrad) err.setRequiresGrad(true);
    const out = output.forward(add(rec, error.forward(err)));
    // + (x − x): the value is unchanged, and x_out's gradient is the output's.
    return back(x.requiresGrad ? add(out, sub(x, x.detach())) : out);
  };

  const removers: Array<() => void> = [];
  const readPoints = [input, pre, post].filter((p): p is HookPoint => p !== null);
  const writePoints = [recons, error, output].filter((p): p is HookPoint => p !== null);
  removers.push(model.addHookPoints(dictionary.hookName, readPoints));
  removers.push(model.addHookPoints(dictionary.outHookName, writePoints));
  if (dictionary.hookName === dictionary.outHookName) {
    removers.push(model.hookPoint(dictionary.hookName).addHook((activation) => decode(activation, encode(activation))));
    return removers;
  }
  let encoded: Encoded | null = null;
  removers.push(
    model.hookPoint(dictionary.hookName).addHook((activation) => {
      encoded = encode(activation);
    }),
  );
  removers.push(
    model.hookPoint(dictionary.outHookName).addHook((activation) => {
      const e = encoded;
      encoded = null;
      return e ? decode(activation, e) : undefined;
    }),
  );
  return removers;
}

/**
 * Splices dictionaries into the model until the returned function removes them (SAELens's
 * HookedSAETransformer.add_sae): the activation at each dictionary's `outHookName` is replaced by
 * decode(encode(x)), with x read at its `hookName`, plus the error term with `includeError`.
 *
 * Each dictionary adds the hook points of SAE_HOOK_SHAPES under `<outHookName>.`, which hooks,
 * runWithHooks and runWithCache accept like any other name: read, patch or take gradients of
 * `blocks.0.hook_resid_pre.hook_sae_acts_post` [batch, pos, d_sae]. Hooks added later on the
 * written hook point itself see the spliced output; hooks on a transcoder's read hook do not change
 * what it encodes (the splice reads first).
 */
export function spliceDictionaries(model: HookedTransformer, dictionaries: readonly Dictionary[], options: SpliceOptions = {}): () => void {
  const op = 'spliceDictionaries';
  const order = model.hookNames();
  const written = new Set<string>();
  for (const d of dictionaries) {
    model.hookPoint(d.hookName);
    model.hookPoint(d.outHookName);
    if (written.has(d.outHookName)) {
      throw new ValueError('two dictionaries write the same hook', { op, arg: 'dictionaries', expected: 'one dictionary per written hook', given: JSON.stringify(d.outHookName) });
    }
    written.add(d.outHookName);
    if (order.indexOf(d.hookName) > order.indexOf(d.outHookName)) {
      throw new ValueError('a dictionary writes a hook before the one it reads', { op, arg: 'dictionaries', expected: 'hookName at or before outHookName', given: `${d.hookName} → ${d.outHookName}` });
    }
  }
  const removers: Array<() => void> = [];
  const remove = () => {
    for (const r of removers.splice(0).reverse()) r();
  };
  try {
    for (const d of dictionaries) removers.push(...attach(model, d, options.includeError ?? false));
  } catch (e) {
    remove();
    throw e;
  }
  return remove;
}

/**
 * Runs `fn` with dictionaries spliced in, and removes them afterwards, even when `fn` throws
 * (SAELens's run_with_saes and saes() context manager). `fn` must be synchronous.
 *
 *     const logits = withDictionaries(model, [sae], { includeError: true }, () =>
 *       model.runWithHooks(tokens, { fwdHooks: [[saeHookName(sae, 'hook_sae_acts_post'), ablateLatent]] }));
 */
export function withDictionaries<T>(model: HookedTransformer, dictionaries: readonly Dictionary[], options: SpliceOptions, fn: () => T): T {
  const remove = spliceDictionaries(model, dictionaries, options);
  try {
    return fn();
  } finally {
    remove();
  }
}
