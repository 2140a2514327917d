import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { glassbox } from './testing/run-cli.ts';

const fixture = fileURLToPath(new URL('../../../packages/tensor/src/fixtures/mixed-dtypes.safetensors', import.meta.url));

describe('glassbox CLI', () => {
  it('info --json lists the backends', () => {
    const { code, stdout } = glassbox('--json', 'info');
    expect(code).toBe(0);
    const { backends } = JSON.parse(stdout);
    expect(backends.available).toContain('js');
    // No GPU context exists in Node without headless-gl: the report must say so, not pretend.
    expect(backends.gpu.device).toBe('cpu-fallback');
  });

  it('inspect summarises a safetensors file', () => {
    const { code, stdout } = glassbox('--json', 'inspect', fixture);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.kind).toBe('safetensors');
    expect(summary.tensors.find((t: { name: string }) => t.name === 'bf16_matrix')).toEqual({ name: 'bf16_matrix', dtype: 'BF16', shape: [3, 2] });
  });

  describe('bad input exits non-zero with one clear line and no stack trace', () => {
    it.each([
      { args: ['infoo'], code: 2, message: /unknown command 'infoo'.*Did you mean info\?/ },
      { args: ['--backend', 'wsm', 'info'], code: 1, message: /unknown backend.*given "wsm"\. Did you mean `/ },
      { args: ['inspect', 'no/such/file.safetensors'], code: 1, message: /no such file or folder.*given no\/such\/file\.safetensors/ },
      { args: ['--seed', '-3', 'demo'], code: 1, message: /argument `--seed`; expected a non-negative integer/ },
      { args: ['--threads', '0', 'info'], code: 1, message: /argument `--threads`; expected an integer in \[1, 64\]/ },
    ])('$args', ({ args, code, message }) => {
      const result = glassbox(...args);
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  });

  it('--verbose adds the stack trace', () => {
    const result = glassbox('--verbose', 'inspect', 'no/such/file.safetensors');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});
