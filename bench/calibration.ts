/**
 * Calibration benchmark at full DSA-110 group scale: 96 antennas (4,656 baselines with autos),
 * 768 channels, 24 integrations, XX/YY — synthetic calibrator data with known gains.
 * Times (excluding I/O): model prediction, refant, K, BP, G(ap, per integration), apply.
 * Budget: BP + G solve ≤ 10 s, apply ≤ 8 s on 2 cores.
 *
 * Run: npx tsc -p tsconfig.json --outDir /tmp/dsa-bench && node /tmp/dsa-bench/bench/calibration.js
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { predictPointSources } from '../src/calibration/model.js';
import { delaysFromSums } from '../src/calibration/delay.js';
import { bandpassFromSums } from '../src/calibration/bandpass.js';
import { gainsFromSums, prepareGainSums } from '../src/calibration/gains.js';
import { accumulateSumsParallel, applyChunkParallel, createSumsFor, runAccumulateKernel } from '../src/calibration/parallel.js';
import { antennaChanGains } from '../src/calibration/sums.js';
import { CalApplier } from '../src/calibration/apply.js';
import { chooseRefant, refantStats } from '../src/calibration/refant.js';
import { perleyButler2017 } from '../src/calibration/fluxmodels.js';
import type { BandpassTable, DelayTable, GainTable, VisChunk } from '../src/calibration/types.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function run(): Promise<Record<string, number>> {
  // BENCH_CAL_COMMANDS=1 adds the command-level figures; =only runs just those.
  if (process.env.BENCH_CAL_COMMANDS === 'only') return runCommands(Number(process.env.BENCH_CAL_THREADS ?? 2));
  const nAnt = 96, nChan = 768, nPol = 2;
  // Full group: 24 integrations (BENCH_CAL_NTIME to try smaller).
  const nTime = Number(process.env.BENCH_CAL_NTIME ?? 24);
  const nBl = (nAnt * (nAnt + 1)) / 2;
  const r = rng(42);
  const freqHz = new Float64Array(nChan);
  for (let c = 0; c < nChan; c++) freqHz[c] = 1311.25e6 + c * 244140.625;
  const timeMjdSec = new Float64Array(nTime);
  for (let t = 0; t < nTime; t++) timeMjdSec[t] = 60950 * 86400 + t * 12.884902;
  const ant1 = new Int32Array(nBl), ant2 = new Int32Array(nBl);
  let b = 0;
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) { ant1[b] = i; ant2[b] = j; b++; }
  const enu = new Float64Array(3 * nAnt);
  for (let a = 0; a < nAnt; a++) {
    if (a % 2) { enu[3 * a] = (r() - 0.5) * 1200; } else { enu[3 * a + 1] = -r() * 1500; }
  }
  const uvw = new Float64Array(3 * nTime * nBl);
  for (let t = 0; t < nTime; t++) for (let k = 0; k < nBl; k++) {
    const i = ant1[k], j = ant2[k];
    uvw[3 * (t * nBl + k)] = enu[3 * j] - enu[3 * i];
    uvw[3 * (t * nBl + k) + 1] = (enu[3 * j + 1] - enu[3 * i + 1]) * 0.99;
    uvw[3 * (t * nBl + k) + 2] = (enu[3 * j + 1] - enu[3 * i + 1]) * 0.1 + t * 0.01 * (enu[3 * j] - enu[3 * i]);
  }
  // 3C286 slightly off the phase centre, drifting through a meridian beam.
  const ra0 = 3.5392577776, dec0 = 0.5324852109;
  const flux = new Float64Array(nChan);
  for (let c = 0; c < nChan; c++) flux[c] = perleyButler2017('3C286', freqHz[c])!;
  const pRa = new Float64Array(nTime), pDec = new Float64Array(nTime).fill(dec0);
  for (let t = 0; t < nTime; t++) pRa[t] = ra0 + ((t - 11.5) * 12.885 * 2 * Math.PI) / 86164;

  // Visibility arrays in shared memory so the passes can run on worker threads.
  const threads = Number(process.env.BENCH_CAL_THREADS ?? 2);
  const nVis = nTime * nBl * nChan * nPol;
  const f32 = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));
  let t0 = performance.now();
  let cpu0 = process.cpuUsage();
  const cpuSince = () => { const u = process.cpuUsage(cpu0); return (u.user + u.system) / 1e6; };
  const model = predictPointSources({
    nTime, nBl, nPol, freqHz, uvw, phaseCentreRaRad: ra0, phaseCentreDecRad: dec0, pointingRaRad: pRa, pointingDecRad: pDec,
    out: f32(2 * nVis),
  }, { raRad: Float64Array.of(ra0 + 1e-4), decRad: Float64Array.of(dec0 - 2e-4), fluxJy: flux });
  const tModel = (performance.now() - t0) / 1000;

  // Truth gains per [t, ant, chan, pol] and corrupted data (+ tabulated Gaussian noise).
  const gains = new Float32Array(2 * nTime * nAnt * nChan * nPol);
  for (let a = 0; a < nAnt; a++) for (let p = 0; p < nPol; p++) {
    const tau = (r() * 2 - 1) * 5e-9, amp = 0.9 + 0.2 * r(), ph0 = 2 * Math.PI * r(), rip = 0.05 * r();
    for (let t = 0; t < nTime; t++) for (let c = 0; c < nChan; c++) {
      const ph = ph0 - 2 * Math.PI * freqHz[c] * tau + 0.2 * Math.sin(c / 50 + a) + 0.003 * t;
      const am = amp * (1 + rip * Math.cos(c / 80 + p));
      const k = ((t * nAnt + a) * nChan + c) * nPol + p;
      gains[2 * k] = am * Math.cos(ph);
      gains[2 * k + 1] = am * Math.sin(ph);
    }
  }
  const noiseTab = new Float32Array(1 << 20);
  for (let k = 0; k < noiseTab.length; k++) noiseTab[k] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()) * 2.5;
  const data = f32(2 * nVis);
  let seed = 12345;
  for (let t = 0; t < nTime; t++) for (let k = 0; k < nBl; k++) {
    const i = ant1[k], j = ant2[k];
    for (let q = 0; q < nChan * nPol; q++) {
      const idx = (t * nBl + k) * nChan * nPol + q;
      const gi = (t * nAnt + i) * nChan * nPol + q, gj = (t * nAnt + j) * nChan * nPol + q;
      const ar = gains[2 * gi], ai = gains[2 * gi + 1], br = gains[2 * gj], bi = -gains[2 * gj + 1];
      const cr = ar * br - ai * bi, ci = ar * bi + ai * br;
      const mr = model[2 * idx], mi = model[2 * idx + 1];
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[2 * idx] = cr * mr - ci * mi + noiseTab[seed >>> 12];
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[2 * idx + 1] = cr * mi + ci * mr + noiseTab[seed >>> 12];
    }
  }
  const flag = new Uint8Array(new SharedArrayBuffer(nVis));
  const weight = f32(nVis).fill(1);
  const chunk: VisChunk = { nTime, nBl, nChan, nPol, nAnt, ant1, ant2, freqHz, timeMjdSec, data, model, flag, weight };

  t0 = performance.now();
  const { refant } = chooseRefant(refantStats(chunk), enu);
  const tRefant = (performance.now() - t0) / 1000;
  // The calibrate sequence (solveCalibratorParallel's steps, timed one by one).
  t0 = performance.now();
  const kSums = createSumsFor(chunk, nChan, threads);
  await accumulateSumsParallel(chunk, kSums, {}, threads);
  const K = delaysFromSums(kSums, freqHz, { refant });
  const tK = (performance.now() - t0) / 1000;
  const gSolve = async (o: { mode: 'p' | 'ap'; bandpass?: BandpassTable }) => {
    const { views, args } = prepareGainSums(chunk, { delays: K, bandpass: o.bandpass, solint: 'int' }, threads > 1);
    await runAccumulateKernel(args, threads);
    return gainsFromSums(views, nAnt, { refant, delays: K, bandpass: o.bandpass, mode: o.mode, solint: 'int' });
  };
  // BP after K (the default sequence; the optional pre-bandpass phase-only G would add one pass).
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  const bpSums = createSumsFor(chunk, nChan, threads);
  await accumulateSumsParallel(chunk, bpSums, { pre: antennaChanGains(nAnt, freqHz, nPol, K) }, threads);
  const tBPsums = (performance.now() - t0) / 1000;
  const BP = bandpassFromSums(bpSums, freqHz, { refant, delays: K });
  const tBP = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const G = await gSolve({ mode: 'ap', bandpass: BP });
  const tG = (performance.now() - t0) / 1000;
  const cpuBpG = cpuSince();

  // Accuracy check against the truth at one channel/time: total gain referenced to refant.
  let sumA2 = 0, sumPh2 = 0, nPh = 0;
  for (const c of [100, 400, 700]) for (const t of [0, Math.floor(nTime / 2), nTime - 1]) for (let a = 0; a < nAnt; a++) for (let p = 0; p < nPol; p++) {
    const gk = ((t * nAnt + a) * nChan + c) * nPol + p, rk = ((t * nAnt + refant) * nChan + c) * nPol + p;
    const tr = gains[2 * gk], ti = gains[2 * gk + 1], rr = gains[2 * rk], ri = gains[2 * rk + 1];
    const ra = Math.hypot(rr, ri);
    const wr = (tr * rr + ti * ri) / ra, wi = (ti * rr - tr * ri) / ra;
    const ph = -2 * Math.PI * freqHz[c] * K.delayNs[a * nPol + p] * 1e-9;
    const bk = (a * nChan + c) * nPol + p, gg = (t * nAnt + a) * nPol + p;
    let sr = Math.cos(ph) * BP.gain[2 * bk] - Math.sin(ph) * BP.gain[2 * bk + 1];
    let si = Math.cos(ph) * BP.gain[2 * bk + 1] + Math.sin(ph) * BP.gain[2 * bk];
    const x = sr * G.gain[2 * gg] - si * G.gain[2 * gg + 1];
    si = sr * G.gain[2 * gg + 1] + si * G.gain[2 * gg];
    sr = x;
    sumA2 += (Math.hypot(sr, si) / Math.hypot(wr, wi) - 1) ** 2;
    const d = Math.atan2(si * wr - sr * wi, sr * wr + si * wi);
    sumPh2 += d * d; nPh++;
  }

  // Apply, streaming in 4 chunks of 6 integrations (as the command would).
  const applier = new CalApplier(nAnt, freqHz, nPol, { delays: K, bandpass: BP, gains: G });
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  const per = Math.min(6, nTime);
  const blk = nBl * nChan * nPol;
  let flagged = 0;
  for (let s = 0; s < nTime; s += per) {
    const counts = await applyChunkParallel(applier, {
      nTime: per, nBl, nChan, nPol, ant1, ant2, timeMjdSec: timeMjdSec.subarray(s, s + per),
      data: data.subarray(2 * s * blk, 2 * (s + per) * blk), flag: flag.subarray(s * blk, (s + per) * blk),
      weight: weight.subarray(s * blk, (s + per) * blk),
    }, threads);
    flagged += counts.flaggedBySolutions + counts.nonFinite;
  }
  const tApply = (performance.now() - t0) / 1000;
  const cpuApply = cpuSince();

  const commands = process.env.BENCH_CAL_COMMANDS === '1' ? await runCommands(threads) : {};
  return {
    ...commands,
    threads,
    model_predict_s: tModel,
    refant_s: tRefant,
    delay_solve_s: tK,
    bandpass_solve_s: tBP,
    bandpass_sums_pass_s: tBPsums,
    gain_solve_s: tG,
    bp_plus_g_solve_s: tBP + tG,
    all_solves_s: tK + tBP + tG,
    apply_s: tApply,
    bp_plus_g_cpu_s: cpuBpG,
    apply_cpu_s: cpuApply,
    apply_mvis_per_s: nVis / tApply / 1e6,
    gain_amp_rms_err_pct: 100 * Math.sqrt(sumA2 / nPh),
    gain_phase_rms_deg: (Math.sqrt(sumPh2 / nPh) * 180) / Math.PI,
    flagged_by_apply: flagged,
  };
}

/**
 * The full `calibrate` (model → MODEL_DATA, K, BP, G, caltables, registry) and `apply` (three
 * columns replaced) library paths on a simulated, converted full group (96 antennas, 16 × 48
 * channels, 24 integrations, 3C286 at transit). Opt-in (BENCH_CAL_COMMANDS=1, or =only): simulating the
 * group costs ~20 s CPU and ~2.5 GB of scratch disk (BENCH_CAL_DIR, default the OS temp dir).
 */
async function runCommands(threads: number): Promise<Record<string, number>> {
  const os = await import('node:os');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { simulateGroups } = await import('../src/sim/index.js');
  const { convertGroup } = await import('../src/convert/convert-group.js');
  const { openMs } = await import('../src/io/ms.js');
  const { calibrateMs } = await import('../src/calibration/ms-solve.js');
  const { applyToMs } = await import('../src/calibration/ms-apply.js');
  const { loadCalibratorCatalog, calibratorIndex } = await import('../src/calibration/catalog.js');
  const { calibratorSpectrum } = await import('../src/calibration/fluxmodels.js');
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_CAL_DIR ?? os.tmpdir(), 'dsa110-bench-cal-'));
  try {
    const sim = await simulateGroups({ outDir: path.join(dir, 'uvh5'), antennas: 96, subbands: 16, channelsPerSubband: 48, integrations: 24, calibrator: '3C286', noiseJy: 1, seed: 5 });
    const g = sim.groups[0];
    const msPath = path.join(dir, `${g.groupId}.ms.zarr`);
    await convertGroup(g.groupId, g.files.map((f) => ({ path: f, subband: Number(/_sb(\d+)\.hdf5$/.exec(f)![1]) })), msPath,
      { expectedSubbands: 16, history: { command: 'bench', version: '0', args: [] }, fsync: false });
    fs.rmSync(path.join(dir, 'uvh5'), { recursive: true, force: true });
    const ms = await openMs(msPath);
    const cat = loadCalibratorCatalog();
    const i = calibratorIndex(cat, '3C286');
    const sky = { raRad: Float64Array.of(cat.raRad[i]), decRad: Float64Array.of(cat.decRad[i]), fluxJy: calibratorSpectrum(cat, i, ms.meta.freq) };
    let t0 = performance.now();
    let c0 = process.cpuUsage();
    const cpu = () => { const u = process.cpuUsage(c0); return (u.user + u.system) / 1e6; };
    const sol = await calibrateMs(ms, { sky, threads, fsync: true });
    const calS = (performance.now() - t0) / 1000, calCpu = cpu();
    t0 = performance.now();
    c0 = process.cpuUsage();
    const { toMsAxes } = await import('../src/calibration/ms-io.js');
    const onMs = <T extends DelayTable | BandpassTable | GainTable>(x: T | undefined): T | undefined => (x ? (toMsAxes(x, sol.ants.names, ms.meta) as T) : undefined);
    const res = await applyToMs(ms, { delays: onMs(sol.delays), bandpass: onMs(sol.bandpass), gains: onMs(sol.gains) }, { threads, fsync: true });
    const applyS = (performance.now() - t0) / 1000, applyCpu = cpu();
    return {
      cmd_calibrate_s: calS, cmd_calibrate_cpu_s: calCpu, cmd_calibrate_model_pass_s: sol.timings.modelPass,
      cmd_calibrate_solve_s: sol.timings.solve, cmd_calibrate_passes_qa: sol.passes ? 1 : 0,
      cmd_apply_s: applyS, cmd_apply_cpu_s: applyCpu, cmd_apply_flagged: res.flaggedBySolutions,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().then((r) => {
    for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(28)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
  });
}
