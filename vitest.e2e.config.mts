import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // One browser and one server at a time: the e2e suite drives a single real app.
    fileParallelism: false
  }
})
