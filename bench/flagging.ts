/**
 * Flagging benchmark: the default strategy (zeros → rfi → extend) on a full DSA-110 group,
 * 24 times × 4,656 baselines (96 antennas with autos) × 768 channels × 2 pols of synthetic
 * noise + RFI. Target ≤ 15 s on 2 cores (AOFlagger 3.1 took 22 s on a group this size).
 *
 * Env: FLAG_BENCH_ANTS (default 96) shrinks the array for a quick run; FLAG_BENCH_WORKERS.
 *
 * Measured (2-core Xeon VM shared with other jobs, load 6–8 and ~25–50 % steal, so wall ≫ cpu/2;
 * cpu_s counts all threads):
 *   before (commit e02a663): full group cpu 115 s (another day; 123–147 s re-measured alongside
 *     the change below on the same loaded machine, 24-antenna runs scaled);
 *   after the bounded SumThreshold, box-filter background, fused RMS and SIR skip: full group
 *     cpu 68–76 s (2 workers), i.e. idle-core wall ≈ 34–38 s; the RFI step alone 1.7–1.9× faster
 *     than before when both versions run interleaved in one process. Target ≤ 15 s not yet met.
 *   2026-11-22 (commit 27be014 → this): SumThreshold bounds by threshold level instead of running
 *     maxima (comparisons that are rarely true on noise), whole rows skipped when no window can
 *     trip, SIR skipping lines with too few flags to grow and the position gather where nothing is
 *     missing, mean-of-polarisations amplitude fused into the gather, a pass whose mask did not
 *     change reuses its background fit. Same flags bit for bit. Profile split of the rfi step
 *     before → after (share of the before total): SumThreshold 40 → 36 %, background fit 23 → 22 %,
 *     SIR 10 → 5 %, RMS selection 6 → 6 %, noise σ (4,096-sample MADs) 6 → 5 %, gather / mean /
 *     scatter 6 → 5 %, rest 10 → 10 %; zeros + extend + flag counts on the main thread add ~6 % of
 *     the cpu, the worker hand-off ~3 % (48 antennas, 1 vs 2 workers). Interleaved in one process
 *     (same cube, alternating 8-baseline ranges): rfi step cpu × 0.89–0.93 on this RFI-rich group,
 *     × 0.82–0.83 on pure noise. Full group, 2 workers, load 3–4: cpu 58.8 / 55.3 / 54.8 s (median
 *     55.3 s; wall 42–54 s, the two workers rarely had both cores); an earlier build of this
 *     change measured 50.6–56.0 s — the load moves the figure by ±10 %. So idle-core wall ≈ 27 s:
 *     the ≤ 15 s target is still not met (it needs ~2× less cpu; every remaining loop costs
 *     4–8 ns per sample on this VM, and the plane is visited ~15 times per polarisation).
 *   2026-11-22, WebAssembly SIMD kernels (assembly/flag-kernels.ts → dist/wasm/flag-kernels.wasm,
 *     src/flagging/wasm.ts; DSA110_WASM=0 restores the TypeScript loops): background fit +
 *     residual, SumThreshold (plain sliding windows, 8 lines per step in float64 lanes, groups of
 *     lines with no |v| > χ_M skipped), the per-timestep / per-channel RMS sums, the subsampled noise
 *     σ (radix selection), SIR and the strong-outlier mask run in the module, on plane arrays that
 *     live in its own (per-scratch, non-shared) memory. Same flags: flagged_fraction
 *     0.09395391661595552 in every run of both versions. Full group, 2 workers, cpu_s (all
 *     threads), HEAD (e1b5b08, built from `git archive HEAD`) vs this,
 *     interleaved on the shared VM (load 2–5): HEAD 62.0 / 61.7 / 57.7 / 60.7 / 49.5 / 57.3 s
 *     (median 59.0 s); this 27.0 / 24.1 s (an intermediate build without the radix σ: 29.8 / 29.4 /
 *     30.9 / 30.8 / 26.4 s). So cpu × 0.43 and idle-core wall ≈ cpu/2 ≈ 12–13.5 s: the ≤ 15 s
 *     target is met on idle cores (on this loaded VM the runs took 17–24 s wall). ~3.5 s of the
 *     cpu is the serial zeros + extend + flag counts on the main thread (TypeScript, unchanged).
 *     Profile split of the rfi step (24 antennas, 1 worker, both versions back to back; ms in the
 *     step's own functions): SumThreshold 1048 → 275, background fit 863 → 257, noise σ
 *     185 → ~130, SIR 175 → 80, RMS 163 → 108 (the rejection stays in TypeScript), strong-outlier
 *     mask 75 → 12 (+26 of selection), gather / scatter 155 → 173 (TypeScript, memory-bound),
 *     rest 61 → 61; total 2724 → ~1100 ms (× 0.40).
 *     Per 24 × 768 plane, same process: SumThreshold 364 → 126 µs (χ₁ = 24σ) and 719 → 200 µs
 *     (χ₁ = 6σ), background fit 971 → 199 µs.
 */
import { availableParallelism } from 'node:os';
import type { Cube } from '../src/flagging/types.js';
import { applyStrategy, applyStrategyAsync, defaultStrategy } from '../src/flagging/strategy.js';
import { flagRfiParallelCount, parallelAvailable } from '../src/flagging/parallel.js';

/** Fast pseudo-Gaussian deviates: a table of 2^16 Box–Muller values indexed by xorshift32. */
function makeNoise(seed: number): () => number {
  const table = new Float32Array(65536);
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  for (let i = 0; i < table.length; i++) table[i] = Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return table[s & 65535] + 0.01 * table[s >>> 16];
  };
}

export function syntheticGroup(nAnt = 96, nTime = 24, nChan = 768, nPol = 2, shared = false): Cube {
  const nBl = (nAnt * (nAnt + 1)) / 2;
  const n = nTime * nBl * nChan * nPol;
  const data = shared ? new Float32Array(new SharedArrayBuffer(8 * n)) : new Float32Array(2 * n);
  const flags = shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
  const ant1 = new Int32Array(nBl);
  const ant2 = new Int32Array(nBl);
  for (let i = 0, b = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++, b++) { ant1[b] = i; ant2[b] = j; }
  const g = makeNoise(12345);
  for (let i = 0; i < 2 * n; i++) data[i] = g();
  const idx = (t: number, b: number, c: number, p: number): number => ((t * nBl + b) * nChan + c) * nPol + p;
  // autos: large positive power
  for (let b = 0; b < nBl; b++) if (ant1[b] === ant2[b]) {
    for (let t = 0; t < nTime; t++) for (let c = 0; c < nChan; c++) for (let p = 0; p < nPol; p++) data[2 * idx(t, b, c, p)] += 100;
  }
  // RFI: persistent channels on all baselines, bursts, one broadband burst in two timesteps
  const persistent = [37, 38, 201, 455, 456, 457, 690];
  for (let t = 0; t < nTime; t++) for (let b = 0; b < nBl; b++) for (const c of persistent) {
    for (let p = 0; p < nPol; p++) data[2 * idx(t, b, c, p)] += 10 + 5 * g();
  }
  for (let b = 0; b < nBl; b += 3) {
    const c0 = (b * 7919) % (nChan - 4);
    const t0 = (b * 31) % (nTime - 4);
    for (let t = t0; t < t0 + 3; t++) for (let c = c0; c < c0 + 3; c++) for (let p = 0; p < nPol; p++) data[2 * idx(t, b, c, p) + 1] += 30;
  }
  for (let b = 0; b < nBl; b++) for (const t of [5, 17]) for (let c = 100; c < 600; c++) for (let p = 0; p < nPol; p++) data[2 * idx(t, b, c, p)] += 8;
  // a few exact zeros (dropped packets)
  for (let b = 0; b < nBl; b += 97) for (let c = 0; c < 48; c++) { const i = idx(3, b, c, 0); data[2 * i] = 0; data[2 * i + 1] = 0; }
  return { nTime, nBl, nChan, nPol, data, flags, ant1, ant2 };
}

export async function run(): Promise<Record<string, number>> {
  const nAnt = Number(process.env.FLAG_BENCH_ANTS ?? 96);
  const workers = Number(process.env.FLAG_BENCH_WORKERS ?? availableParallelism());
  const t0 = performance.now();
  const cube = syntheticGroup(nAnt);
  const genS = (performance.now() - t0) / 1000;
  const res: Record<string, number> = { baselines: cube.nBl, visibilities: cube.flags.length, generate_s: genS };
  // CPU seconds of all threads: on a shared machine wall time overstates the cost; cpu_s/workers
  // is the wall time on idle cores
  const cpu0 = process.cpuUsage();
  if (workers > 1 && parallelAvailable()) {
    const rep = await applyStrategyAsync(cube, defaultStrategy(), (c, o, z) => flagRfiParallelCount(c, o, { workers }, z), true);
    res.workers = workers;
    res.default_strategy_s = rep.seconds;
    res.rfi_s = rep.steps.find((s) => s.mode === 'rfi')?.seconds ?? NaN;
    for (const st of rep.steps) if (st.mode !== 'rfi') res[`${st.mode}_s`] = st.seconds;
    res.flagged_fraction = rep.flagged / rep.total;
  } else {
    const rep = applyStrategy(cube, defaultStrategy());
    res.workers = 1;
    res.default_strategy_s = rep.seconds;
    res.rfi_s = rep.steps.find((s) => s.mode === 'rfi')?.seconds ?? NaN;
    for (const st of rep.steps) if (st.mode !== 'rfi') res[`${st.mode}_s`] = st.seconds;
    res.flagged_fraction = rep.flagged / rep.total;
  }
  const cpu = process.cpuUsage(cpu0);
  res.cpu_s = (cpu.user + cpu.system) / 1e6;
  res.idle_cores_estimate_s = res.cpu_s / res.workers;
  res.ns_per_visibility = (res.default_strategy_s * 1e9) / cube.flags.length;
  // scaled to a full group (24 × 4,656 × 768 × 2) when run on a smaller array
  res.full_group_estimate_s = (res.idle_cores_estimate_s * 171638784) / cube.flags.length;
  return res;
}

// run directly: node dist/bench/flagging.js
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  run().then((r) => console.log(JSON.stringify(r, null, 1)));
}
