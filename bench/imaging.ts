/**
 * Imaging benchmark at full DSA-110 scale: 96 stations of the station table incl. the outriggers
 * (4,560 cross baselines, up to ~2.6 km), 24 integrations of 12.885 s around the meridian at dec 55°, 768 channels
 * 1311–1499 MHz, five point sources + thermal noise; 4096² image at 3″, Briggs 0, niter 1000,
 * mgain 0.8, auto-mask 3σ / auto-threshold 0.5σ, w-stacking on.
 * Env overrides for quick looks: BENCH_IMG_TIMES, BENCH_IMG_CHANS, BENCH_IMG_NX, BENCH_IMG_THREADS,
 * BENCH_IMG_SUPPORT, BENCH_IMG_BEAM_CHUNKS (default 4, as the image command), BENCH_IMG_BDA (max BDA loss, 0 = off; default 0.01), BENCH_IMG_CPUCLOCK=1
 * (stage timings in process CPU time instead of wall time: meaningful on a loaded machine, and
 * only with BENCH_IMG_THREADS=1, when all the work runs in this thread).
 */
import { loadStations } from '../src/astro/antennas.js';
import { imageVisibilities } from '../src/imaging/imager.js';
import { fft2d, initFft } from '../src/imaging/fft.js';
import { arrayUvw, channels, gaussian, rng } from '../src/imaging/simulate.js';
import type { VisInput } from '../src/imaging/types.js';

const DEG = Math.PI / 180, ARCSEC = DEG / 3600, C = 299792458;
const env = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);

export function buildInput(nTimes: number, nChan: number): VisInput {
  const st = loadStations();
  // 96 antennas as in a real group: the 15 outriggers (DSA-103…117, which give the ~2.6 km
  // baselines) and 81 core stations spread evenly over DSA-001…102.
  const byNum = Array.from(st.numbers).map((n, i) => [n, i]).sort((a, b) => a[0] - b[0]);
  const core = byNum.filter(([n]) => n <= 102), outer = byNum.filter(([n]) => n > 102);
  const nCore = 96 - outer.length;
  const order = [...Array.from({ length: nCore }, (_, k) => core[Math.floor((k * core.length) / nCore)]), ...outer].map((x) => x[1]);
  let lat0 = 0, lon0 = 0, h0 = 0;
  for (const i of order) { lat0 += st.latRad[i]; lon0 += st.lonRad[i]; h0 += st.heightM[i]; }
  lat0 /= order.length; lon0 /= order.length; h0 /= order.length;
  const R = 6371000;
  const enu = new Float64Array(3 * order.length);
  order.forEach((i, k) => {
    enu[3 * k] = (st.lonRad[i] - lon0) * R * Math.cos(lat0);
    enu[3 * k + 1] = (st.latRad[i] - lat0) * R;
    enu[3 * k + 2] = st.heightM[i] - h0;
  });
  const dt = 12.885, sidereal = (2 * Math.PI) / 86164.0905;
  const ha = Array.from({ length: nTimes }, (_, t) => (t - (nTimes - 1) / 2) * dt * sidereal);
  const uvw = arrayUvw(enu, lat0, 55 * DEG, ha);
  const freq = channels(nChan, 1311.25e6, 1498.75e6);
  const nRow = uvw.length / 3;
  // per-visibility noise: SEFD ≈ 7000 Jy, 244 kHz × 12.885 s → σ ≈ 2.8 Jy on each of re, im (Stokes I ~ /√2)
  const sigma = 2.0;
  const vis = new Float32Array(2 * nRow * nChan);
  const weight = new Float32Array(nRow * nChan).fill(1 / (sigma * sigma));
  const srcs = [
    { f: 1.0, l: 0.2 * DEG, m: -0.1 * DEG }, { f: 0.4, l: -1.1 * DEG, m: 0.6 * DEG }, { f: 0.25, l: 0.9 * DEG, m: 1.2 * DEG },
    { f: 0.1, l: -0.5 * DEG, m: -1.3 * DEG }, { f: 0.05, l: 1.4 * DEG, m: -0.8 * DEG },
  ];
  const df = nChan > 1 ? freq[1] - freq[0] : 0;
  for (const s of srcs) {
    const nm1 = Math.sqrt(1 - s.l * s.l - s.m * s.m) - 1;
    for (let r = 0; r < nRow; r++) {
      const k = (2 * Math.PI * (uvw[3 * r] * s.l + uvw[3 * r + 1] * s.m + uvw[3 * r + 2] * nm1)) / C;
      let pr = Math.cos(k * freq[0]), pi = Math.sin(k * freq[0]);
      const sr = Math.cos(k * df), si = Math.sin(k * df);
      const base = 2 * r * nChan;
      for (let c = 0; c < nChan; c++) {
        vis[base + 2 * c] += s.f * pr; vis[base + 2 * c + 1] += s.f * pi;
        const t = pr * sr - pi * si; pi = pr * si + pi * sr; pr = t;
      }
    }
  }
  const g = gaussian(rng(42));
  for (let k = 0; k < vis.length; k++) vis[k] += sigma * g();
  return { nRow, nChan, uvw, freq, vis, weight };
}

export async function run(): Promise<Record<string, number>> {
  await initFft();
  const nTimes = env('BENCH_IMG_TIMES', 24), nChan = env('BENCH_IMG_CHANS', 768), nx = env('BENCH_IMG_NX', 4096);
  const threads = env('BENCH_IMG_THREADS', 2), support = env('BENCH_IMG_SUPPORT', 5);
  const out: Record<string, number> = {};

  // FFT speed: one 8192² complex transform (the padded grid of a 4096² image).
  if (env('BENCH_IMG_FFT', 1)) {
    const n = 8192;
    const a = new Float32Array(2 * n * n);
    for (let i = 0; i < a.length; i += 4097) a[i] = 1;
    const t = performance.now();
    fft2d(a, n, n, -1);
    out.fft8192Seconds = (performance.now() - t) / 1000;
  }

  if (env('BENCH_IMG_CPUCLOCK', 0)) {
    const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
    performance.now = cpuMs; // the imager's stage timers then measure CPU time
  }
  const input = buildInput(nTimes, nChan);
  out.visibilities = input.nRow * input.nChan;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Beam-aware major cycles as `dsa110 image` runs them (--beam-chunks 4): the cost is what is
  // measured here, so every chunk's beam is the same (ratios of 1) on these synthetic data.
  const nChunks = env('BENCH_IMG_BEAM_CHUNKS', 4);
  const perTime = input.nRow / nTimes;
  const rowChunk = new Uint8Array(input.nRow);
  for (let r = 0; r < input.nRow; r++) rowChunk[r] = Math.floor((Math.floor(r / perTime) * nChunks) / nTimes);
  const beamChunks = nChunks > 1 ? {
    rowChunk,
    beamsAt: (_g: unknown, pixels: Int32Array) => Array.from({ length: nChunks }, () => ({ beam: new Float32Array(pixels.length).fill(1), weight: 1 })),
  } : undefined;
  out.beamChunks = nChunks;
  const res = await imageVisibilities(input, {
    beamChunks,
    nx, cellRad: 3 * ARCSEC, weighting: 'briggs', robust: 0, niter: 1000, gain: 0.1, mgain: 0.8,
    autoMask: 3, autoThreshold: 0.5, threads, gridder: { support }, bdaMaxLoss: env('BENCH_IMG_BDA', 0.01) || null,
  }, (p) => process.stderr.write(`  ${JSON.stringify(p)}\n`));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  Object.assign(out, {
    totalSeconds: wall,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    griddingSeconds: res.timings.gridding / 1000,
    fftSeconds: res.timings.fft / 1000,
    imageOpsSeconds: res.timings.imageOps / 1000,
    deconvolutionSeconds: res.timings.deconvolution / 1000,
    planSeconds: res.timings.plan / 1000,
    weightingSeconds: res.timings.weighting / 1000,
    restoreSeconds: res.timings.restore / 1000,
    griddedVisibilities: res.nGridded,
    wPlanes: res.nPlanes, gridBandRows: res.gridBand[0], gridBandCols: res.gridBand[1], simd: res.simd ? 1 : 0, majorCycles: res.majorCycles, components: res.components,
    noiseJy: res.noiseJy, expectedNoiseJy: res.expectedNoiseJy, peakJy: res.peakJy,
    bmajArcsec: res.beam.bmajRad / ARCSEC, bminArcsec: res.beam.bminRad / ARCSEC, bpaDeg: res.beam.bpaDeg,
    threads, support, nx,
  });
  return out;
}
