/**
 * Benchmark runner: `npm run bench [-- area...]`. Each bench/<area>.ts exports
 * `run(): Promise<Record<string, number>>`; figures print as JSON lines and are appended to
 * bench/out/results.jsonl with the machine description. Not run in CI.
 */
import os from 'node:os';
import { mkdirSync, appendFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const areas = readdirSync(here)
    .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_'))
    .map((f) => f.replace(/\.js$/, ''))
    .filter((a) => wanted.length === 0 || wanted.includes(a));
  const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  const outDir = path.resolve(here, '..', '..', 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  for (const area of areas) {
    const mod = (await import(path.join(here, area + '.js'))) as { run?: () => Promise<Record<string, number>> };
    if (typeof mod.run !== 'function') continue;
    process.stderr.write(`bench ${area}…\n`);
    const t0 = performance.now();
    const figures = await mod.run();
    const rec = { area, date: new Date().toISOString(), machine, wallSeconds: (performance.now() - t0) / 1000, figures };
    console.log(JSON.stringify(rec));
    appendFileSync(path.join(outDir, 'results.jsonl'), JSON.stringify(rec) + '\n');
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
