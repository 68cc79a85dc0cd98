/**
 * Loaded into a server process by bench/events.ts (`node --require bench/heap-probe.cjs …`):
 * after each full (mark-compact) garbage collection, appends `<epoch ms> <heap used bytes>` to
 * the file named by HEAP_PROBE_FILE. The heap used just after a full collection is what the
 * process holds live; the peak RSS also counts garbage not yet collected, which depends on when
 * V8 chooses to collect.
 */
const { appendFileSync } = require('node:fs');
const { PerformanceObserver, constants } = require('node:perf_hooks');
const { isMainThread } = require('node:worker_threads');

const file = process.env.HEAP_PROBE_FILE;
// `--require` runs in every thread the server starts too (its read threads): only the main
// thread's heap is reported.
if (file && isMainThread) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      appendFileSync(file, `${Date.now()} ${process.memoryUsage().heapUsed}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
}
