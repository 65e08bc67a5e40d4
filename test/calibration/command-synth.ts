/**
 * Shared set-up of the calibrate/apply command tests: simulate groups (src/sim), convert them
 * with the library converter, and run the built CLI — through bin/dsa110 when cli.ts registers
 * calibrate/apply, else through a launcher that adds them to the same program (until wired).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simulateGroups, type SimulateOptions } from '../../src/sim/index.js';
import { convertGroup } from '../../src/convert/convert-group.js';
import { dsa110, REPO, type RunResult } from '../helpers/cli.js';

export interface SimTruth {
  gainRefFreqHz: number;
  noiseSigmaJy: number;
  gains: { antenna: number; name: string; XX: GainTruthJson; YY: GainTruthJson }[];
  groups: { groupId: string; midJd: number }[];
}
export interface GainTruthJson { amp: number; phase: number; delay: number; bpAmp: number; bpPeriodHz: number; bpPhase: number; bpPhaseAmp: number }

/** Simulate and convert every group; returns the MS paths (group order) and truth.json. */
export async function simulateMs(dir: string, opts: Omit<SimulateOptions, 'outDir'>): Promise<{ ms: string[]; truth: SimTruth }> {
  const simDir = path.join(dir, 'uvh5');
  const res = await simulateGroups({ ...opts, outDir: simDir });
  const ms: string[] = [];
  for (const g of res.groups) {
    const files = g.files.map((f) => ({ path: f, subband: Number(/_sb(\d+)\.hdf5$/.exec(f)![1]) }));
    const out = path.join(dir, `${g.groupId}.ms.zarr`);
    await convertGroup(g.groupId, files, out, { expectedSubbands: files.length, history: { command: 'test', version: '0', args: [] }, fsync: false });
    ms.push(out);
  }
  return { ms, truth: JSON.parse(readFileSync(res.truthPath, 'utf8')) as SimTruth };
}

const LAUNCHER = `
const [cliPath, calPath, applyPath, ...argv] = process.argv.slice(2);
const cli = await import(cliPath);
const program = cli.buildProgram();
const have = new Set(program.commands.map((c) => c.name()));
for (const [name, p] of [['calibrate', calPath], ['apply', applyPath]]) {
  if (have.has(name)) continue;
  (await import(p)).register(program);
  const c = program.commands.find((x) => x.name() === name);
  c.exitOverride();
  c.configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, w) => w(name + ': ' + s.replace(/^error: /, '')) });
}
try { await program.parseAsync(['node', 'dsa110', ...argv]); }
catch (e) { if (e && typeof e.code === 'string' && e.code.startsWith('commander.')) process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2; else throw e; }
`;

let wired: boolean | undefined;
/** Run dsa110 with calibrate/apply available. */
export function run(args: string[], env: Record<string, string> = {}): RunResult {
  const dist = path.join(REPO, 'dist', 'src');
  if (wired === undefined) {
    wired = existsSync(path.join(dist, 'cli.js')) && readFileSync(path.join(dist, 'cli.js'), 'utf8').includes('commands/calibrate.js');
  }
  if (wired) return dsa110(args, { env });
  // A file, not `-e` with --input-type=module: worker threads inherit execArgv.
  const launcher = path.join(os.tmpdir(), `dsa110-cal-launcher-${process.pid}.mjs`);
  if (!existsSync(launcher)) writeFileSync(launcher, LAUNCHER);
  const r = spawnSync(process.execPath, [launcher, path.join(dist, 'cli.js'), path.join(dist, 'commands', 'calibrate.js'), path.join(dist, 'commands', 'apply.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
