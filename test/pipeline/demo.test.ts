/**
 * End to end: the demo (a small simulated night: a 3C286 transit group and target groups) through
 * convert | scripts/dsa110-pipeline, normalisation, variability and a mosaic, with science
 * results asserted against the simulation's truth — not only that it ran.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { REPO } from '../helpers/cli.js';
import { demoNight } from '../helpers/demo-night.js';

interface Summary {
  groups: Record<string, number>;
  measurementSets: number;
  calibrated: number;
  flagFraction: number;
  calibration: { type: string; calibrator: string | null; status: string }[];
  images: { path: string; noiseMJy: number }[];
  imageFluxes: { n: number; medianRatio: number; worst: number };
  imageFluxRows: { name: string; n: number; flux: number; truth: number }[];
  mosaic: { path: string; fluxes: { n: number; medianRatio: number; worst: number } } | null;
  variabilityRows: number;
}

let out: string;
let summary: Summary;
// six groups: the same run serves the mosaic strip acceptance (test/mosaic/strip.test.ts)
const NGROUPS = 6;

beforeAll(() => {
  const r = demoNight(NGROUPS);
  out = r.out;
  expect(r.status, r.stderr).toBe(0);
  const s = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'demo-summary.mjs'), out, '--json'], { encoding: 'utf8' });
  expect(s.status, s.stderr).toBe(0);
  summary = JSON.parse(s.stdout);
}, 900_000);

describe('the demo night, end to end', () => {
  it('converts every group and calibrates on 3C286', () => {
    expect(summary.groups.completed).toBe(NGROUPS);
    expect(summary.measurementSets).toBe(NGROUPS);
    const cal = summary.calibration.filter((c) => c.status === 'active');
    expect(cal.map((c) => c.type).sort()).toEqual(['BP', 'G', 'K']);
    expect(cal.every((c) => /3C ?286|1331\+305|J1331/i.test(c.calibrator ?? ''))).toBe(true);
    expect(summary.calibrated).toBe(NGROUPS);
    expect(summary.flagFraction).toBeGreaterThan(0); // the simulation has RFI
    expect(summary.flagFraction).toBeLessThan(0.3);
  });

  it('recovers source fluxes within 5 % in the images and in the mosaic', () => {
    expect(summary.images).toHaveLength(NGROUPS);
    expect(summary.imageFluxes.n).toBeGreaterThanOrEqual(4);
    expect(Math.abs(summary.imageFluxes.medianRatio - 1)).toBeLessThan(0.05);
    for (const r of summary.imageFluxRows) expect(Math.abs(r.flux / r.truth - 1), r.name).toBeLessThan(0.05);
    expect(summary.mosaic).not.toBeNull();
    expect(existsSync(summary.mosaic!.path)).toBe(true);
    expect(summary.mosaic!.fluxes.n).toBeGreaterThanOrEqual(3);
    expect(summary.mosaic!.fluxes.worst).toBeLessThan(0.05);
  });

  it('has variability figures and light curves', () => {
    expect(summary.variabilityRows).toBeGreaterThan(0);
    const lc = readFileSync(path.join(out, 'lightcurves', 'DEMO003.png'));
    expect(lc.subarray(1, 4).toString()).toBe('PNG');
  });
});
