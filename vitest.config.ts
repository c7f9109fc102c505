import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real peers (DCMTK, dciodvfy) and render full-size radiographs: give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Quiet the JSON logs of commands run in-process; a failing test still shows its own output.
    env: { JOINTSCORE_LOG_LEVEL: 'warn' },
  },
});
