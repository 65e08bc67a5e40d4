/**
 * Mosaic benchmark: 12 synthetic 4096² DSA-110-like images (3″ cells, SIN, dec +55°, pointings
 * one 309 s drift apart in RA) into one primary-beam-weighted linear mosaic (CAR strip).
 * Reports seconds per stage; image synthesis is excluded from the timings.
 *
 * Run: npm run build && node dist/bench/mosaic.js   (or via bench/run.ts when wired)
 */
import { makeSinWcs } from '../src/astro/wcs.js';
import { planMosaicGrid, LinearMosaic, pbResponse } from '../src/mosaic/index.js';
import { estimateNoiseInBeam, localNoiseMap } from '../src/mosaic/linear.js';

const N = 4096;
const CELL_DEG = 3 / 3600;
const DEC = 55;
const N_IMAGES = 12;
/** RA step between consecutive groups: 309 s of sidereal drift. */
const RA_STEP_DEG = (309 / 86164.0905) * 360;
/** DSA-110 primary beam FWHM at 1.4 GHz (4.65 m dishes), degrees. */
const PB_FWHM_DEG = 3.2;

function synthImage(out: Float32Array, seed: number): void {
  // Gaussian-ish noise (sum of 4 uniforms from an LCG) plus a grid of point sources.
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      v += s / 4294967296;
    }
    out[i] = (v - 2) * 1.7e-3; // σ ≈ 1 mJy
  }
  for (let y = 128; y < N; y += 512) for (let x = 128; x < N; x += 512) out[y * N + x] += 0.05;
}

export async function run(): Promise<Record<string, number>> {
  const inputs = Array.from({ length: N_IMAGES }, (_, k) => ({
    wcs: makeSinWcs({ raDeg: 200 + k * RA_STEP_DEG, decDeg: DEC, cellDeg: CELL_DEG, nx: N, ny: N, freqHz: 1.405e9 }),
    nx: N,
    ny: N,
  }));
  // One primary-beam image serves every input: same layout relative to each pointing centre.
  const pb = new Float32Array(N * N);
  const w0 = inputs[0].wcs;
  const c = w0.refLonLat;
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const p = w0.pixelToWorld(x, y);
      const sep = Math.acos(Math.min(1, Math.sin(p.lat) * Math.sin(c[1]) + Math.cos(p.lat) * Math.cos(c[1]) * Math.cos(p.lon - c[0])));
      pb[y * N + x] = pbResponse({ kind: 'airy', fwhmDeg: PB_FWHM_DEG }, sep);
    }
  }
  const data = new Float32Array(N * N);

  const t0 = performance.now();
  const grid = planMosaicGrid(inputs);
  const tPlan = performance.now() - t0;
  const acc = new LinearMosaic(grid, { interp: 'bilinear' });
  let tAdd = 0, cpuAdd = 0, maxMapErr = 0, pixels = 0;
  for (let k = 0; k < N_IMAGES; k++) {
    synthImage(data, 12345 + k);
    const t = performance.now();
    const cpu = process.cpuUsage();
    // what `mosaic build` does per input by default: σ in the main lobe and a local noise map
    // (boxes of ten 30″ beams = 100 px at 3″)
    const sigma = estimateNoiseInBeam(data, pb);
    const sigmaMap = localNoiseMap(data, N, N, 100, sigma);
    const s = acc.add({ data, nx: N, ny: N, wcs: inputs[k].wcs, pb, sigma, sigmaMap, name: `img${k}` });
    const du = process.cpuUsage(cpu);
    cpuAdd += (du.user + du.system) / 1e3;
    tAdd += performance.now() - t;
    maxMapErr = Math.max(maxMapErr, s.maxMapError);
    pixels += s.pixels;
  }
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  const prod = acc.finish({ minPb: 0.2 });
  const du1 = process.cpuUsage(cpu1);
  const tFinish = performance.now() - t1;
  let finite = 0;
  for (let i = 0; i < prod.image.length; i++) if (prod.image[i] === prod.image[i]) finite++;
  return {
    images: N_IMAGES,
    output_nx: grid.nx,
    output_ny: grid.ny,
    output_mpix: (grid.nx * grid.ny) / 1e6,
    plan_s: tPlan / 1e3,
    add_s: tAdd / 1e3,
    add_per_image_s: tAdd / 1e3 / N_IMAGES,
    finish_s: tFinish / 1e3,
    total_s: (tPlan + tAdd + tFinish) / 1e3,
    // CPU seconds: wall time is unreliable on a shared machine.
    add_cpu_s: cpuAdd / 1e3,
    finish_cpu_s: (du1.user + du1.system) / 1e6,
    accumulated_mpix: pixels / 1e6,
    ns_per_accumulated_pixel: (tAdd * 1e6) / pixels,
    max_map_error_pix: maxMapErr,
    unblanked_fraction: finite / prod.image.length,
  };
}

// Allow `node dist/bench/mosaic.js` directly.
if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((r) => console.log(JSON.stringify(r, null, 2)));
}
