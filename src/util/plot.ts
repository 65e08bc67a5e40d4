/**
 * Small line/scatter plots (error bars, axis labels, shaded x-range, panel grids) drawn as SVG and
 * rasterised to PNG with @resvg/resvg-js. Enough for calibration diagnostics (bandpass amplitude
 * and phase per antenna) and light curves; not a general plotting library.
 */
import { Resvg } from '@resvg/resvg-js';
import { DsaError } from './errors.js';

export interface PlotSeries {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Symmetric 1σ error bars on y. */
  yerr?: ArrayLike<number>;
  /** 'line' (default), 'points', or 'linepoints'. NaN y breaks a line and is not drawn. */
  style?: 'line' | 'points' | 'linepoints';
  /** CSS colour; default from a colour-blind-safe cycle. */
  color?: string;
  label?: string;
}

export interface PlotSpec {
  title?: string;
  xlabel?: string;
  ylabel?: string;
  series: PlotSeries[];
  /** A shaded x-range, e.g. a flagged band or a flare window. */
  shade?: [number, number];
  xlim?: [number, number];
  ylim?: [number, number];
}

export interface RenderOptions {
  /** Pixels (default 800 × 500 for one plot). */
  width?: number;
  height?: number;
}

export interface PanelOptions {
  /** Number of columns (default ceil(sqrt(n))). */
  columns?: number;
  /** Size of one panel in pixels (default 240 × 180). */
  panelWidth?: number;
  panelHeight?: number;
  /** Title over the whole grid. */
  title?: string;
}

const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];
const FONT = 'DejaVu Sans, Lato, Liberation Sans, Arial, sans-serif';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round-number ticks covering [lo, hi] (about `target` of them), steps of 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function fmtTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, Math.min(6, -Math.floor(Math.log10(step)) + Math.floor(Math.log10(a))))).replace('e+', 'e');
  const dec = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(dec);
}

/** Data limits of a panel, padded 5 %; explicit xlim/ylim win. */
function limits(spec: PlotSpec): { x: [number, number]; y: [number, number] } {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of spec.series) {
    const n = Math.min(s.x.length, s.y.length);
    for (let i = 0; i < n; i++) {
      const x = s.x[i], y = s.y[i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const e = s.yerr && Number.isFinite(s.yerr[i]) ? Math.abs(s.yerr[i]) : 0;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y - e < y0) y0 = y - e;
      if (y + e > y1) y1 = y + e;
    }
  }
  const pad = (a: number, b: number): [number, number] => {
    if (!Number.isFinite(a)) return [0, 1];
    if (a === b) return [a - (Math.abs(a) || 1) * 0.5, b + (Math.abs(b) || 1) * 0.5];
    const d = (b - a) * 0.05;
    return [a - d, b + d];
  };
  return { x: spec.xlim ?? pad(x0, x1), y: spec.ylim ?? pad(y0, y1) };
}

let clipSeq = 0;

/** SVG elements of one panel occupying the box (ox, oy, w, h). `fs` = base font size. */
function panelSvg(spec: PlotSpec, ox: number, oy: number, w: number, h: number, fs: number): string {
  const left = ox + fs * (spec.ylabel ? 5.2 : 3.8);
  const right = ox + w - fs * 1.2;
  const top = oy + fs * (spec.title ? 2.2 : 1);
  const bottom = oy + h - fs * (spec.xlabel ? 3.4 : 2.2);
  if (right - left < 10 || bottom - top < 10) throw new DsaError(`plot: panel ${w}×${h} px is too small`);
  const { x: [xa, xb], y: [ya, yb] } = limits(spec);
  const sx = (v: number): number => left + ((v - xa) / (xb - xa)) * (right - left);
  const sy = (v: number): number => bottom - ((v - ya) / (yb - ya)) * (bottom - top);
  const el: string[] = [];
  const clip = `c${++clipSeq}`;
  el.push(`<clipPath id="${clip}"><rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}"/></clipPath>`);
  el.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="white" stroke="none"/>`);
  if (spec.shade) {
    const a = Math.max(left, Math.min(right, sx(Math.min(...spec.shade))));
    const b = Math.max(left, Math.min(right, sx(Math.max(...spec.shade))));
    el.push(`<rect x="${a.toFixed(2)}" y="${top}" width="${(b - a).toFixed(2)}" height="${bottom - top}" fill="#999" fill-opacity="0.25"/>`);
  }
  // Ticks and grid.
  const xt = niceTicks(xa, xb, Math.max(2, Math.round((right - left) / (fs * 7))));
  const yt = niceTicks(ya, yb, Math.max(2, Math.round((bottom - top) / (fs * 3.5))));
  const xstep = xt.length > 1 ? xt[1] - xt[0] : 1, ystep = yt.length > 1 ? yt[1] - yt[0] : 1;
  for (const v of xt) {
    const X = sx(v).toFixed(2);
    el.push(`<line x1="${X}" y1="${top}" x2="${X}" y2="${bottom}" stroke="#e4e4e4" stroke-width="1"/>`);
    el.push(`<line x1="${X}" y1="${bottom}" x2="${X}" y2="${bottom + fs * 0.4}" stroke="black"/>`);
    el.push(`<text x="${X}" y="${(bottom + fs * 1.45).toFixed(2)}" text-anchor="middle" font-size="${fs}">${esc(fmtTick(v, xstep))}</text>`);
  }
  for (const v of yt) {
    const Y = sy(v).toFixed(2);
    el.push(`<line x1="${left}" y1="${Y}" x2="${right}" y2="${Y}" stroke="#e4e4e4" stroke-width="1"/>`);
    el.push(`<line x1="${left - fs * 0.4}" y1="${Y}" x2="${left}" y2="${Y}" stroke="black"/>`);
    el.push(`<text x="${(left - fs * 0.6).toFixed(2)}" y="${(sy(v) + fs * 0.35).toFixed(2)}" text-anchor="end" font-size="${fs}">${esc(fmtTick(v, ystep))}</text>`);
  }
  // Data.
  const g: string[] = [];
  spec.series.forEach((s, k) => {
    const color = s.color ?? COLORS[k % COLORS.length];
    const style = s.style ?? 'line';
    const n = Math.min(s.x.length, s.y.length);
    const r = Math.max(1.5, fs * 0.22);
    if (s.yerr) {
      let d = '';
      for (let i = 0; i < n; i++) {
        const x = s.x[i], y = s.y[i], e = s.yerr[i];
        if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(e)) continue;
        const X = sx(x), cap = r * 1.2;
        const y0 = sy(y - e), y1 = sy(y + e);
        d += `M${X.toFixed(2)} ${y0.toFixed(2)}V${y1.toFixed(2)}M${(X - cap).toFixed(2)} ${y0.toFixed(2)}h${(2 * cap).toFixed(2)}M${(X - cap).toFixed(2)} ${y1.toFixed(2)}h${(2 * cap).toFixed(2)}`;
      }
      if (d) g.push(`<path d="${d}" stroke="${color}" stroke-width="1" fill="none"/>`);
    }
    if (style === 'line' || style === 'linepoints') {
      let d = '';
      let pen = false;
      for (let i = 0; i < n; i++) {
        const x = s.x[i], y = s.y[i];
        if (!Number.isFinite(x) || !Number.isFinite(y)) {
          pen = false;
          continue;
        }
        d += `${pen ? 'L' : 'M'}${sx(x).toFixed(2)} ${sy(y).toFixed(2)}`;
        pen = true;
      }
      if (d) g.push(`<path d="${d}" stroke="${color}" stroke-width="${Math.max(1, fs / 9).toFixed(2)}" fill="none" stroke-linejoin="round"/>`);
    }
    if (style === 'points' || style === 'linepoints') {
      const c: string[] = [];
      for (let i = 0; i < n; i++) {
        const x = s.x[i], y = s.y[i];
        if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
        c.push(`<circle cx="${sx(x).toFixed(2)}" cy="${sy(y).toFixed(2)}" r="${r.toFixed(2)}"/>`);
      }
      if (c.length) g.push(`<g fill="${color}">${c.join('')}</g>`);
    }
  });
  el.push(`<g clip-path="url(#${clip})">${g.join('')}</g>`);
  el.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="black" stroke-width="1"/>`);
  // Labels and legend.
  if (spec.title) el.push(`<text x="${((left + right) / 2).toFixed(2)}" y="${(oy + fs * 1.5).toFixed(2)}" text-anchor="middle" font-size="${(fs * 1.15).toFixed(1)}" font-weight="bold">${esc(spec.title)}</text>`);
  if (spec.xlabel) el.push(`<text x="${((left + right) / 2).toFixed(2)}" y="${(oy + h - fs * 0.6).toFixed(2)}" text-anchor="middle" font-size="${fs}">${esc(spec.xlabel)}</text>`);
  if (spec.ylabel) {
    const X = ox + fs * 1.2, Y = (top + bottom) / 2;
    el.push(`<text x="${X.toFixed(2)}" y="${Y.toFixed(2)}" text-anchor="middle" font-size="${fs}" transform="rotate(-90 ${X.toFixed(2)} ${Y.toFixed(2)})">${esc(spec.ylabel)}</text>`);
  }
  const labelled = spec.series.map((s, k) => ({ s, k })).filter(({ s }) => s.label);
  labelled.forEach(({ s, k }, j) => {
    const color = s.color ?? COLORS[k % COLORS.length];
    const Y = top + fs * (1.1 + 1.3 * j);
    el.push(`<line x1="${right - fs * 7.5}" y1="${(Y - fs * 0.35).toFixed(2)}" x2="${right - fs * 6}" y2="${(Y - fs * 0.35).toFixed(2)}" stroke="${color}" stroke-width="2"/>`);
    el.push(`<text x="${(right - fs * 5.6).toFixed(2)}" y="${Y.toFixed(2)}" font-size="${(fs * 0.9).toFixed(1)}">${esc(s.label ?? '')}</text>`);
  });
  return el.join('\n');
}

function svgDoc(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>`;
}

/** The SVG text of one plot (exposed for tests and for embedding in HTML reports). */
export function plotSvg(spec: PlotSpec, opts: RenderOptions = {}): string {
  const w = opts.width ?? 800, h = opts.height ?? 500;
  return svgDoc(w, h, panelSvg(spec, 0, 0, w, h, Math.max(9, Math.round(Math.min(w, h) / 36))));
}

/** The SVG text of a grid of panels. */
export function panelsSvg(panels: PlotSpec[], o: PanelOptions = {}): string {
  if (panels.length === 0) throw new DsaError('plot: no panels to draw');
  const cols = o.columns ?? Math.ceil(Math.sqrt(panels.length));
  const rows = Math.ceil(panels.length / cols);
  const pw = o.panelWidth ?? 240, ph = o.panelHeight ?? 180;
  const head = o.title ? 34 : 0;
  const fs = Math.max(8, Math.round(Math.min(pw, ph) / 20));
  const parts: string[] = [];
  if (o.title) parts.push(`<text x="${(cols * pw) / 2}" y="24" text-anchor="middle" font-size="18" font-weight="bold">${esc(o.title)}</text>`);
  panels.forEach((p, i) => parts.push(panelSvg(p, (i % cols) * pw, head + Math.floor(i / cols) * ph, pw, ph, fs)));
  return svgDoc(cols * pw, head + rows * ph, parts.join('\n'));
}

function rasterise(svg: string): Buffer {
  const r = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
    logLevel: 'off',
  });
  return r.render().asPng();
}

/** Render one plot to PNG bytes. */
export function renderPlot(spec: PlotSpec, opts: RenderOptions = {}): Buffer {
  return rasterise(plotSvg(spec, opts));
}

/** Render a grid of small panels (e.g. bandpass per antenna) to PNG bytes. */
export function renderPanels(panels: PlotSpec[], opts: PanelOptions = {}): Buffer {
  return rasterise(panelsSvg(panels, opts));
}
