import { defineConfig } from 'vitest/config';

// One run over every workspace package, straight from source (the `source` export condition).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['{packages,plugins,apps,benchmarks}/*/src/**/*.test.ts', '{packages,plugins,apps}/*/test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
