import { describe, expect, it } from 'vitest';
import { expectedNoise, imagingWeights, imagingWeightsAndNoise } from '../../src/imaging/weighting.js';
import { arrayUvw, channels, emptyVis, randomArray } from '../../src/imaging/simulate.js';

const DEG = Math.PI / 180;
const input = emptyVis(arrayUvw(randomArray(25, 600, 400, 5), 37 * DEG, 55 * DEG, [-0.5 * DEG, 0, 0.5 * DEG]), channels(6, 1.31e9, 1.5e9), 4);
// vary natural weights so natural ≠ uniform even within a cell
for (let k = 0; k < input.weight.length; k++) input.weight[k] = 2 + (k % 5);
const geom = { nx: 256, ny: 256, cellRad: 20 / 3600 * DEG };

function maxRelDevOfRatio(a: Float32Array, b: Float32Array): number {
  let s = 0, n = 0;
  for (let k = 0; k < a.length; k++) if (b[k] > 0) { s += a[k] / b[k]; n++; }
  const mean = s / n;
  let dev = 0;
  for (let k = 0; k < a.length; k++) if (b[k] > 0) dev = Math.max(dev, Math.abs(a[k] / b[k] / mean - 1));
  return dev;
}

describe('imaging weights', () => {
  const nat = imagingWeights(input, geom, 'natural');
  const uni = imagingWeights(input, geom, 'uniform');
  it('the expected noise from the weighting pass equals expectedNoise of its weights', () => {
    for (const [mode, robust] of [['natural', 0], ['uniform', 0], ['briggs', 0], ['briggs', -1]] as const) {
      const r = imagingWeightsAndNoise(input, geom, mode, robust);
      expect(r.weights).toEqual(imagingWeights(input, geom, mode, robust));
      expect(Math.abs(r.expectedNoise / expectedNoise(input, r.weights) - 1)).toBeLessThan(1e-6);
    }
  });
  it('natural = the visibility weights', () => {
    expect(Array.from(nat.subarray(0, 10))).toEqual(Array.from(input.weight.subarray(0, 10)));
  });
  it('uniform differs from natural (densely sampled cells are down-weighted)', () => {
    expect(maxRelDevOfRatio(uni, nat)).toBeGreaterThan(0.5);
  });
  it('Briggs robust −2 ≈ uniform, +2 ≈ natural (up to a constant)', () => {
    expect(maxRelDevOfRatio(imagingWeights(input, geom, 'briggs', -2), uni)).toBeLessThan(0.01);
    expect(maxRelDevOfRatio(imagingWeights(input, geom, 'briggs', 2), nat)).toBeLessThan(0.05);
    const r0 = imagingWeights(input, geom, 'briggs', 0);
    expect(maxRelDevOfRatio(r0, nat)).toBeGreaterThan(0.1);
    expect(maxRelDevOfRatio(r0, uni)).toBeGreaterThan(0.1);
  });
  it('expected noise: natural weights w on N visibilities give 1/√(N·w)·… exactly', () => {
    const w = new Float32Array(input.weight.length).fill(4);
    const inp = { ...input, weight: w };
    expect(expectedNoise(inp, w)).toBeCloseTo(1 / Math.sqrt(w.length * 4), 10);
    // uniform-type reweighting can only raise the noise
    expect(expectedNoise(input, uni)).toBeGreaterThan(expectedNoise(input, nat));
  });
});
