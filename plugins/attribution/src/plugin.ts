import { definePlugin } from '@glassbox/core';
import { createAttributeCommand } from './commands/attribute-command.ts';
import { CIRCUIT_OPTIONS, circuitCommand } from './commands/circuit-command.ts';
import type { DictionaryLoader } from './commands/feature-attribution.ts';
import { patchCommand } from './commands/patch-command.ts';

export interface AttributionPluginOptions {
  /**
   * Loads the dictionary folders of `attribute --sae`, such as the SDL plugin's `loadSae`: the app
   * that composes both plugins passes it in, since no plugin imports another.
   */
  loadDictionary?: DictionaryLoader;
}

/**
 * The attribution plugin: `patch` (activation patching), `attribute` (AtP, AtP*, EAP, EAP-IG, and
 * AtP over SAE latents with `loadDictionary`) and `circuit` (circuit discovery and exact
 * evaluation). Its own `run` is the circuit command.
 */
export function attributionPlugin(options: AttributionPluginOptions = {}) {
  return definePlugin({
    name: 'attribution',
    description: 'activation patching, attribution patching and circuit discovery',
    options: CIRCUIT_OPTIONS,
    commands: [patchCommand, createAttributeCommand(options.loadDictionary), circuitCommand],
    run: (ctx, options) => circuitCommand.run(ctx, options),
  });
}
