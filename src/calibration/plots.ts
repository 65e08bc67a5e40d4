/**
 * Diagnostic PNGs of a calibrator solve (`calibrate --plot`): bandpass amplitude and phase per
 * antenna (K·BP, so residual delays show as phase slopes), and the G amplitudes and phases per
 * antenna (against time when there are several solution intervals).
 */
import type { MsMeta } from '../io/ms.js';
import { renderPanels, type PlotSpec } from '../util/plot.js';
import type { MsCalibrateResult } from './ms-solve.js';

const POL_NAMES: Record<number, string> = { 9: 'XX', 10: 'XY', 11: 'YX', 12: 'YY', 5: 'RR', 6: 'RL', 7: 'LR', 8: 'LL' };

export function calibrationPlots(sol: MsCalibrateResult, meta: MsMeta, title: string): { name: string; png: Buffer }[] {
  const out: { name: string; png: Buffer }[] = [];
  const nPol = meta.nPol;
  const pols = Array.from(meta.corrType, (c) => POL_NAMES[c] ?? String(c));
  const bp = sol.bandpass;
  if (bp) {
    const fMHz = Float64Array.from(bp.freqHz, (f) => f / 1e6);
    const amp: PlotSpec[] = [], ph: PlotSpec[] = [];
    for (let a = 0; a < bp.nAnt; a++) {
      const sa: PlotSpec['series'] = [], sp: PlotSpec['series'] = [];
      for (let p = 0; p < nPol; p++) {
        const y = new Float64Array(bp.nChan), z = new Float64Array(bp.nChan);
        for (let c = 0; c < bp.nChan; c++) {
          const k = (a * bp.nChan + c) * nPol + p;
          const re = bp.gain[2 * k], im = bp.gain[2 * k + 1];
          y[c] = bp.flag[k] ? NaN : Math.hypot(re, im);
          z[c] = bp.flag[k] ? NaN : (Math.atan2(im, re) * 180) / Math.PI;
        }
        sa.push({ x: fMHz, y, label: pols[p] });
        sp.push({ x: fMHz, y: z, label: pols[p] });
      }
      amp.push({ title: sol.ants.names[a], xlabel: 'MHz', ylabel: '|BP|', series: sa });
      ph.push({ title: sol.ants.names[a], xlabel: 'MHz', ylabel: 'phase (deg)', series: sp, ylim: [-180, 180] });
    }
    out.push({ name: 'bpamp', png: renderPanels(amp, { title: `${title}: bandpass amplitude` }) });
    out.push({ name: 'bpphase', png: renderPanels(ph, { title: `${title}: bandpass phase` }) });
  }
  const g = sol.gains;
  if (g) {
    const panels: PlotSpec[] = [];
    if (g.nTime > 1) {
      for (let a = 0; a < g.nAnt; a++) {
        const series: PlotSpec['series'] = [];
        for (let p = 0; p < nPol; p++) {
          const x = new Float64Array(g.nTime), y = new Float64Array(g.nTime);
          for (let t = 0; t < g.nTime; t++) {
            const k = (t * g.nAnt + a) * nPol + p;
            x[t] = (g.timeMjdSec[t] - g.timeMjdSec[0]) / 60;
            y[t] = g.flag[k] ? NaN : (Math.atan2(g.gain[2 * k + 1], g.gain[2 * k]) * 180) / Math.PI;
          }
          series.push({ x, y, label: pols[p], style: 'linepoints' });
        }
        panels.push({ title: sol.ants.names[a], xlabel: 'minutes', ylabel: 'phase (deg)', series, ylim: [-180, 180] });
      }
    } else {
      const x = Float64Array.from({ length: g.nAnt }, (_, a) => a);
      const amp: PlotSpec['series'] = [], ph: PlotSpec['series'] = [];
      for (let p = 0; p < nPol; p++) {
        const y = new Float64Array(g.nAnt), z = new Float64Array(g.nAnt);
        for (let a = 0; a < g.nAnt; a++) {
          const k = a * nPol + p;
          y[a] = g.flag[k] ? NaN : Math.hypot(g.gain[2 * k], g.gain[2 * k + 1]);
          z[a] = g.flag[k] ? NaN : (Math.atan2(g.gain[2 * k + 1], g.gain[2 * k]) * 180) / Math.PI;
        }
        amp.push({ x, y, label: pols[p], style: 'points' });
        ph.push({ x, y: z, label: pols[p], style: 'points' });
      }
      panels.push({ title: 'gain amplitude', xlabel: 'antenna index', ylabel: '|G|', series: amp });
      panels.push({ title: 'gain phase', xlabel: 'antenna index', ylabel: 'phase (deg)', series: ph, ylim: [-180, 180] });
    }
    out.push({ name: 'gains', png: renderPanels(panels, { title: `${title}: gains`, columns: g.nTime > 1 ? undefined : 2, panelWidth: g.nTime > 1 ? undefined : 480, panelHeight: g.nTime > 1 ? undefined : 300 }) });
  }
  return out;
}
