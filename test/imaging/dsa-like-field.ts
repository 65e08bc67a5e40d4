/** Shared test data of the gridder tests (gridder.test.ts, slant.test.ts). */
import { arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';
import type { VisInput } from '../../src/imaging/types.js';

const DEG = Math.PI / 180;
const C = 299792458;

/**
 * Synthetic DSA-110-like data: 30 antennas over 2.5 km E-W × 1.5 km N-S at latitude 37°, pointing
 * dec 55° at 4 hour angles, 8 channels 1.3–1.5 GHz. |w| reaches ~2300 λ, so w(n−1) is ~2 turns at
 * the corners of the 3.5° field: without w-correction the image would be badly wrong there.
 * The image is 768² at 16.4″ (coarse), so baselines beyond the grid are given weight 0.
 */
export function dsaLikeField(): { input: VisInput; nx: number; cell: number } {
  const enu = randomArray(30, 2500, 1500, 3);
  const uvw = arrayUvw(enu, 37 * DEG, 55 * DEG, [-0.6, -0.2, 0.2, 0.6].map((x) => x * DEG));
  const freq = channels(8, 1.3e9, 1.5e9);
  const input = emptyVis(uvw, freq);
  const nx = 768, cell = (3.5 * DEG) / nx;
  const lim = 0.45 / cell;
  for (let r = 0; r < input.nRow; r++) for (let c = 0; c < input.nChan; c++) {
    const s = freq[c] / C;
    if (Math.abs(uvw[3 * r] * s) > lim || Math.abs(uvw[3 * r + 1] * s) > lim) input.weight[r * input.nChan + c] = 0;
  }
  return { input, nx, cell };
}
