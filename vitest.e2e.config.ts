import { defineConfig } from 'vitest/config';

// The end-to-end demo check (npm run test:e2e): a simulated night through the whole pipeline,
// asserting science results. Kept out of `npm test` until it passes (see issue 10's notes).
export default defineConfig({
  test: { include: ['test/**/*.e2e.ts'], testTimeout: 900_000, hookTimeout: 900_000, pool: 'forks', maxWorkers: 1 },
});
