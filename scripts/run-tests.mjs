#!/usr/bin/env node
// Runs the vitest suite and ends with the plain line "N passed, N failed" that CI reads.
// Extra arguments are passed to vitest (e.g. a test file filter).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const out = path.resolve('test-results', 'vitest.json');
mkdirSync(path.dirname(out), { recursive: true });
rmSync(out, { force: true });
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...process.argv.slice(2)];
const r = spawnSync('npx', args, { stdio: 'inherit' });
let passed = 0, failed = 0, skipped = 0;
try {
  const j = JSON.parse(readFileSync(out, 'utf8'));
  passed = j.numPassedTests ?? 0;
  failed = (j.numFailedTests ?? 0) + (j.numRuntimeErrorTestSuites ?? 0);
  skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  // A suite that failed to load counts as a failure even though it has no tests.
  for (const f of j.testResults ?? []) if (f.status === 'failed' && (!f.assertionResults || f.assertionResults.length === 0)) failed++;
} catch {
  failed = Math.max(failed, 1);
}
const code = r.status ?? 1;
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
