/**
 * One simulated, converted and imaged DSA-110 group shared by the image command tests:
 * 40 antennas spread over the stations, 24 integrations, 32 channels, six flat-spectrum point
 * sources within 0.5° of the pointing (dec 55°), realistic noise (SEFD 5800 Jy).
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { simulateGroups } from '../../src/sim/index.js';
import { meridianIcrs } from '../../src/astro/frames.js';
import { isoToJd } from '../../src/astro/time.js';
import { DEG } from '../../src/astro/constants.js';
import { dsa110, tmpDir } from '../helpers/cli.js';

export const START = '2025-10-21T14:20:00';

export interface ImagedGroup {
  work: string;
  ms: string;
  /** σ per real/imag part per visibility (Jy). */
  noise: number;
  truth: { sources: { name: string; raDeg: number; decDeg: number; fluxJy: number }[]; groups: { apparentFluxJy: Record<string, number> }[] };
  image: Record<string, number | string>;
}

export async function imagedGroup(): Promise<ImagedGroup> {
  const work = tmpDir('dsa110-img-');
  const [ra0, dec0] = meridianIcrs(isoToJd(START) + (24 * 12.884901888) / 2 / 86400, 55 * DEG);
  const offs = [[0, 0, 1.5], [0.3, 0.2, 0.8], [-0.35, 0.15, 1.2], [0.1, -0.4, 0.6], [-0.2, -0.3, 1.0], [0.45, -0.1, 0.5]];
  const sources = offs.map(([dx, dy, f], i) => ({ name: `s${i}`, raRad: ra0 + (dx! * DEG) / Math.cos(dec0), decRad: dec0 + dy! * DEG, fluxJy: f!, spectralIndex: 0, refFreqHz: 1.4e9 }));
  await simulateGroups({ outDir: path.join(work, 'in'), antennas: 40, antennaSelection: 'spread', subbands: 16, channelsPerSubband: 2, integrations: 24, start: START, dec: 55, sources, gains: false, sefd: 5800, seed: 11 });
  const truth = JSON.parse(readFileSync(path.join(work, 'in', 'truth.json'), 'utf8')) as ImagedGroup['truth'] & { noiseSigmaJy: number };
  const c = dsa110(['--db', path.join(work, 'db'), 'convert', '-o', path.join(work, 'ms'), path.join(work, 'in')]);
  if (c.code !== 0) throw new Error(`convert failed: ${c.stderr}`);
  const ms = c.stdout.trim();
  const r = dsa110(['--db', path.join(work, 'db'), 'image', '--json', '--size', '2048', '--scale', '5', '--niter', '2000', '-o', path.join(work, 'img'), ms]);
  if (r.code !== 0) throw new Error(`image failed: ${r.stderr}`);
  return { work, ms, noise: truth.noiseSigmaJy, truth, image: JSON.parse(r.stdout.trim()) };
}
