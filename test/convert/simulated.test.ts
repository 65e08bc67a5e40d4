/**
 * `dsa110 convert` on groups written by the simulator: rephased DATA against an independent
 * float64 model, UVW against an independent projection, phase centres, and bad input.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import path from 'node:path';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { simulateGroups } from '../../src/sim/index.js';
import { openMs } from '../../src/io/ms.js';
import { icrsToObservedGcrs, gcrsToItrfMatrix, icrsToApparent, meridianIcrs } from '../../src/astro/frames.js';
import { lastRad, isoToJd, mjdSecondsToJd } from '../../src/astro/time.js';
import { angularSeparation } from '../../src/astro/uvw.js';
import { airyPower } from '../../src/astro/beam.js';
import { DEG, DSA110_SITE } from '../../src/astro/constants.js';
import { BIN, dsa110, tmpDir } from '../helpers/cli.js';

const C = 299792458;
const SOURCES = [
  { name: 'a', raDeg: 0, decDeg: 0, fluxJy: 2.0, spectralIndex: -0.7 },
  { name: 'b', raDeg: 0, decDeg: 0, fluxJy: 0.7, spectralIndex: 0.0 },
  { name: 'c', raDeg: 0, decDeg: 0, fluxJy: 1.3, spectralIndex: -1.0 },
];

let simDir: string;
let simGroups: { groupId: string; files: string[] }[];
let truth: { sources: { raDeg?: number; decDeg?: number; ra_deg?: number; dec_deg?: number; fluxJy?: number }[] } & Record<string, unknown>;

beforeAll(async () => {
  simDir = tmpDir('dsa110-sim-');
  // Pointing 55°; sources placed around the meridian at the group mid-time.
  const start = '2025-10-21T14:20:00';
  const jdMid = isoToJd(start) + (4 * 12.884901888) / 2 / 86400;
  const [ra0, dec0] = meridianIcrs(jdMid, 55 * DEG);
  const offs = [[0.3, 0.2], [-1.2, 0.8], [0.9, -1.5]];
  const sources = SOURCES.map((s, i) => ({ name: s.name, raRad: ra0 + (offs[i]![0]! * DEG) / Math.cos(dec0), decRad: dec0 + offs[i]![1]! * DEG, fluxJy: s.fluxJy, spectralIndex: s.spectralIndex, refFreqHz: 1.4e9 }));
  const res = await simulateGroups({ outDir: simDir, antennas: 10, subbands: 4, channelsPerSubband: 8, integrations: 4, groups: 3, start, dec: 55, sources, gains: false, noiseJy: 0, jitter: 8, seed: 7 });
  simGroups = res.groups;
  truth = JSON.parse(readFileSync(path.join(simDir, 'truth.json'), 'utf8'));
  (truth as Record<string, unknown>).__sources = sources;
}, 120_000);

/** Copy the files of the given simulated groups (all when omitted) into dir; returns basenames by group. */
function copyGroups(dir: string, which?: number[], skip: (name: string) => boolean = () => false): string[][] {
  return (which ?? simGroups.map((_, i) => i)).map((gi) => simGroups[gi]!.files.map((f) => path.basename(f)).filter((n) => !skip(n)).map((n) => {
    copyFileSync(path.join(simDir, n), path.join(dir, n));
    return n;
  }));
}

describe('convert simulated DSA-110 groups', () => {
  it('clusters jittered files into groups and converts each; DATA equals the independent model', async () => {
    const out = tmpDir();
    const db = path.join(out, 'db.sqlite3');
    const dry = dsa110(['--db', db, 'convert', '--dry-run', '--tolerance', '20', '--expected-subbands', '4', simDir]);
    expect(dry.code).toBe(0);
    const lines = dry.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/\tcomplete\t4 files$/);
    const r = dsa110(['--db', db, 'convert', '--tolerance', '20', '--expected-subbands', '4', '-o', out, '--json', simDir]);
    expect(r.code, r.stderr).toBe(0);
    const prods = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(prods).toHaveLength(3);
    const sources = (truth as unknown as { __sources: { raRad: number; decRad: number; fluxJy: number; spectralIndex: number; refFreqHz: number }[] }).__sources;

    for (const p of prods) {
      const ms = await openMs(p.path);
      const m = ms.meta;
      expect(m.telescope).toBe('DSA_110');
      expect(m.nChan).toBe(32);
      for (let c = 1; c < m.nChan; c++) expect(m.freq[c]! - m.freq[c - 1]!).toBeCloseTo(244140.625, 3);
      // Phase centre = ICRS of the meridian at the group mid-time.
      const jdMid = (mjdSecondsToJd(m.time[0]!) + mjdSecondsToJd(m.time[m.nTimes - 1]!)) / 2;
      const [raM, decM] = meridianIcrs(jdMid, 55 * DEG);
      expect(angularSeparation(m.phaseDir[0], m.phaseDir[1], raM, decM) / DEG * 3600).toBeLessThan(0.01);
      let worst = 0;
      let worstUvw = 0;
      for (let t = 0; t < m.nTimes; t++) {
        const jd = mjdSecondsToJd(m.time[t]!);
        const data = await ms.readTime('DATA', t);
        const uvw = await ms.readTime('UVW', t);
        const G = gcrsToItrfMatrix(jd);
        const s0 = icrsToObservedGcrs(m.phaseDir[0], m.phaseDir[1], jd);
        const obs = sources.map((s) => icrsToObservedGcrs(s.raRad, s.decRad, jd));
        // Beam: Airy of the angle to the meridian pointing (apparent frame) at this time.
        const last = lastRad(jd, DSA110_SITE.lonRad);
        const theta = sources.map((s) => { const [ra, dec] = icrsToApparent(s.raRad, s.decRad, jd); return angularSeparation(ra, dec, last, 55 * DEG); });
        for (let b = 0; b < m.nBaselines; b++) {
          const i = m.ant1[b]!, j = m.ant2[b]!;
          const bi = [0, 1, 2].map((k) => m.antennaPositions[3 * j + k]! - m.antennaPositions[3 * i + k]!);
          // ITRF → GCRS: transpose of G.
          const bg = [0, 1, 2].map((r) => G[r]! * bi[0]! + G[3 + r]! * bi[1]! + G[6 + r]! * bi[2]!);
          const w = bg[0]! * s0[0]! + bg[1]! * s0[1]! + bg[2]! * s0[2]!;
          const blen = Math.hypot(...bi);
          worstUvw = Math.max(worstUvw, Math.abs(uvw[3 * b + 2]! - w), Math.abs(Math.hypot(uvw[3 * b]!, uvw[3 * b + 1]!, uvw[3 * b + 2]!) - blen));
          if (i === j) continue;
          let num = 0, den = 0;
          for (let c = 0; c < m.nChan; c++) {
            const nu = m.freq[c]!;
            let vr = 0, vi = 0;
            sources.forEach((s, k) => {
              const o = obs[k]!;
              const delay = (bg[0]! * (o[0]! - s0[0]!) + bg[1]! * (o[1]! - s0[1]!) + bg[2]! * (o[2]! - s0[2]!)) / C;
              const amp = s.fluxJy * Math.pow(nu / s.refFreqHz, s.spectralIndex) * airyPower(theta[k]!, nu);
              vr += amp * Math.cos(2 * Math.PI * nu * delay);
              vi += amp * Math.sin(2 * Math.PI * nu * delay);
            });
            for (let q = 0; q < m.nPol; q++) {
              const idx = 2 * ((b * m.nChan + c) * m.nPol + q);
              num += (data[idx]! - vr) ** 2 + (data[idx + 1]! - vi) ** 2;
              den += vr * vr + vi * vi;
            }
          }
          worst = Math.max(worst, Math.sqrt(num / den));
        }
      }
      expect(worst).toBeLessThan(1e-4);
      expect(worstUvw).toBeLessThan(1e-3);
    }
  });

  it('places the phase centre of a 2025-10-21T14:23:19 group at the astropy ICRS position (1″)', () => {
    const [ra, dec] = meridianIcrs(isoToJd('2025-10-21T14:23:19'), 55 * DEG);
    expect(Math.abs(ra / DEG - 127.337341) * 3600 * Math.cos(dec)).toBeLessThan(1);
    expect(Math.abs(dec / DEG - 55.089069) * 3600).toBeLessThan(1);
  });

  it('fails a group with a truncated subband (no output, state failed) while the others convert: exit 3', () => {
    const dir = tmpDir();
    const names = copyGroups(dir);
    const victimGroup = simGroups[1]!.groupId;
    const victim = names[1]!.find((f) => f.endsWith('_sb02.hdf5'))!;
    truncateSync(path.join(dir, victim), Math.floor(statSync(path.join(dir, victim)).size / 2));
    const out = tmpDir();
    const db = path.join(out, 'db.sqlite3');
    const r = dsa110(['--db', db, 'convert', '--tolerance', '20', '--expected-subbands', '4', '-o', out, dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(victim);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    const ms = readdirSync(out).filter((n) => n.includes('.ms.zarr'));
    expect(ms).toHaveLength(2);
    expect(ms.some((n) => n.startsWith(victimGroup))).toBe(false);
    const failed = dsa110(['--db', db, 'registry', 'list', 'groups', '--state', 'failed', '--json']);
    const rows = failed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    expect(rows[0].error).toContain(victim);
  });

  it('leaves incomplete groups collecting; --allow-incomplete fills missing subbands as flagged zeros', async () => {
    const dir = tmpDir();
    copyGroups(dir, [0], (n) => n.endsWith('_sb01.hdf5'));
    const out = tmpDir();
    const db = path.join(out, 'db.sqlite3');
    const r = dsa110(['--db', db, 'convert', '--tolerance', '20', '--expected-subbands', '4', '-o', out, dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('');
    expect(r.stderr).toMatch(/incomplete .*missing sb01/);
    expect(dsa110(['--db', db, 'registry', 'list', 'groups', '--state', 'collecting']).stdout.trim().split('\n')).toHaveLength(1);
    const r2 = dsa110(['--db', db, 'convert', '--tolerance', '20', '--expected-subbands', '4', '--allow-incomplete', '-o', out, dir]);
    expect(r2.code, r2.stderr).toBe(0);
    const ms = await openMs(r2.stdout.trim());
    expect(ms.meta.nChan).toBe(32);
    const f = await ms.readTime('FLAG', 0);
    const d = await ms.readTime('DATA', 0);
    // sb01 is the second-highest band: channels 16..23 in ascending order.
    const per = ms.meta.nChan * ms.meta.nPol;
    let flaggedMissing = 0, flaggedOther = 0;
    for (let b = 0; b < ms.meta.nBaselines; b++) for (let c = 0; c < ms.meta.nChan; c++) for (let q = 0; q < 2; q++) {
      const i = b * per + c * 2 + q;
      if (c >= 16 && c < 24) { flaggedMissing += f[i]!; expect(d[2 * i]).toBe(0); } else flaggedOther += f[i]!;
    }
    expect(flaggedMissing).toBe(ms.meta.nBaselines * 8 * 2);
    expect(flaggedOther).toBe(0);
    for (let c = 1; c < 32; c++) expect(ms.meta.freq[c]! - ms.meta.freq[c - 1]!).toBeCloseTo(244140.625, 3);
  });

  it('zero-length and non-HDF5 subband files fail their group with the file named', () => {
    const dir = tmpDir();
    copyGroups(dir, [0]);
    const files = readdirSync(dir).sort();
    writeFileSync(path.join(dir, files[0]!), '');
    const out = tmpDir();
    const r = dsa110(['--db', path.join(out, 'db'), 'convert', '--tolerance', '20', '--expected-subbands', '4', '-o', out, dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(files[0]!);
    expect(r.stderr).toMatch(/empty|zero/);
    writeFileSync(path.join(dir, files[0]!), 'this is a text file, not HDF5\n');
    const r2 = dsa110(['--db', path.join(out, 'db'), 'convert', '--tolerance', '20', '--expected-subbands', '4', '-o', out, dir]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(files[0]!);
    expect(readdirSync(out).filter((n) => n.includes('.ms.zarr'))).toEqual([]);
  });

  it('two --watch --once workers on one directory convert each group exactly once', async () => {
    const dir = tmpDir();
    copyGroups(dir);
    const out = tmpDir();
    const db = path.join(out, 'db.sqlite3');
    dsa110(['--db', db, 'registry', 'init']);
    const runWorker = () => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, '--db', db, 'convert', '--watch', dir, '--once', '--settle', '0', '--tolerance', '20', '--expected-subbands', '4', '-o', out], { env: { ...process.env, NO_COLOR: '1' } });
      let so = '', se = '';
      p.stdout.on('data', (d) => (so += d));
      p.stderr.on('data', (d) => (se += d));
      p.on('close', (code) => resolve({ code, stdout: so, stderr: se }));
    });
    const [a, b] = await Promise.all([runWorker(), runWorker()]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const paths = [...a.stdout.trim().split('\n'), ...b.stdout.trim().split('\n')].filter(Boolean);
    expect(paths).toHaveLength(3);
    expect(new Set(paths).size).toBe(3);
    const st = JSON.parse(dsa110(['--db', db, 'registry', 'status', '--json']).stdout);
    expect(st.queue.completed).toBe(3);
    expect(st.counts.ms).toBe(3);
  }, 120_000);

  it('a worker killed mid-write leaves no partial product; the next run converts the group', async () => {
    const dir = tmpDir();
    copyGroups(dir, [0]);
    const out = tmpDir();
    const db = path.join(out, 'db.sqlite3');
    // DSA110_TEST_SLOW_WRITE_MS makes the writer pause after each time so the kill lands mid-write.
    const p = spawn(process.execPath, [BIN, '--db', db, 'convert', '--tolerance', '20', '--expected-subbands', '4', '-o', out, dir], { env: { ...process.env, DSA110_TEST_SLOW_WRITE_MS: '400' } });
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const iv = setInterval(() => {
        if (readdirSync(out).some((n) => /\.ms\.zarr\.tmp-/.test(n))) { clearInterval(iv); resolve(); }
        else if (Date.now() - t0 > 60_000) { clearInterval(iv); reject(new Error('the converter never started writing')); }
      }, 50);
    });
    p.kill('SIGKILL');
    await new Promise((r) => p.on('close', r));
    expect(readdirSync(out).filter((n) => /^[^.].*\.ms\.zarr$/.test(n))).toEqual([]);
    const r = dsa110(['--db', db, 'convert', '--tolerance', '20', '--expected-subbands', '4', '-o', out, dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(r.stdout.trim())).toBe(true);
    expect(readdirSync(out).filter((n) => n.includes('.tmp-'))).toEqual([]);
    const rows = dsa110(['--db', db, 'registry', 'list', 'groups', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    expect(rows[0].state).toBe('completed');
    expect(rows[0].retry_count).toBe(1); // the killed attempt counted as a retry
  }, 120_000);
});
