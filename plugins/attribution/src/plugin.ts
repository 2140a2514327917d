import { definePlugin } from '@glassbox/core';
import { attributeCommand } from './commands/attribute-command.ts';
import { CIRCUIT_OPTIONS, circuitCommand } from './commands/circuit-command.ts';
import { patchCommand } from './commands/patch-command.ts';

/**
 * The attribution plugin: `patch` (activation patching), `attribute` (AtP, AtP*, EAP, EAP-IG) and
 * `circuit` (circuit discovery and exact evaluation). Its own `run` is the circuit command.
 */
export function attributionPlugin() {
  return definePlugin({
    name: 'attribution',
    description: 'activation patching, attribution patching and circuit discovery',
    options: CIRCUIT_OPTIONS,
    commands: [patchCommand, attributeCommand, circuitCommand],
    run: (ctx, options) => circuitCommand.run(ctx, options),
  });
}
