/**
 * The "exponential of semicircle" (ES) gridding kernel of ducc0/wgridder (Barnett et al. 2019):
 *   φ(x) = exp(β(√(1−x²) − 1)),  |x| ≤ 1,
 * spread over W grid cells. Gridding reads it from a finely sampled table (linear interpolation)
 * rather than calling exp()/sqrt() per tap.
 */
import { DsaError } from '../util/errors.js';

export interface KernelSpec {
  /** Support in grid cells. */
  readonly support: number;
  /** ES shape parameter β (≈ 2.3·W for oversampling 2). */
  readonly beta: number;
}

/** Default kernel for a requested support at oversampling ~2 (ducc's tables give β/W ≈ 2.3). */
export function defaultKernelSpec(support = 5): KernelSpec {
  return { support, beta: 2.3 * support };
}

export function esKernel(x: number, beta: number): number {
  const s = 1 - x * x;
  return s <= 0 ? 0 : Math.exp(beta * (Math.sqrt(s) - 1));
}

export class EsKernel {
  readonly W: number;
  readonly beta: number;

  constructor(spec: KernelSpec) {
    const W = spec.support;
    if (!Number.isInteger(W) || W < 2 || W > 16) throw new DsaError(`kernel support ${W} not an integer in 2..16`);
    if (!(spec.beta > 0)) throw new DsaError(`kernel β ${spec.beta} must be > 0`);
    this.W = W;
    this.beta = spec.beta;
  }

  /**
   * φ sampled at os points per cell across the support: T[j] = φ(j/(os·W/2) − 1), j = 0..W·os+1.
   * Tap i for fractional offset t ∈ [0,1) is T at j = (t+i)·os, linearly interpolated: with
   * os = 2048 the interpolation error is < 1e-6 (φ'' ≈ (2β/W)² per cell², error ≈ φ''/(8·os²)).
   */
  table(os: number): Float64Array {
    const W = this.W, h = W / 2;
    const T = new Float64Array(W * os + 2);
    for (let j = 0; j < T.length; j++) T[j] = esKernel(Math.min(j / (os * h) - 1, 1), this.beta);
    return T;
  }

  /**
   * Fourier transform of the kernel as seen by the grid: ψ(ξ) = ∫ φ(2t/W) e^{−2πi t ξ} dt, t in cells,
   * ξ in cycles per cell (|ξ| ≤ 1/(2σ)). Computed by Gauss–Legendre quadrature on [0, W/2].
   */
  taper(xi: number): number {
    const { nodes, weights } = gaussLegendre(GL_N);
    const h = this.W / 2;
    let s = 0;
    for (let k = 0; k < GL_N; k++) {
      const t = (nodes[k] + 1) * 0.5 * h;
      s += weights[k] * esKernel(t / h, this.beta) * Math.cos(2 * Math.PI * t * xi);
    }
    return s * h; // ∫_{−h}^{h} = 2·∫_0^h, and dt = h/2 dnode
  }

  /** ψ tabulated at ξ = j/n for j = −n1..n1−1 style offsets: out[k] = ψ((k − half)/n). */
  taperTable(count: number, half: number, n: number): Float64Array {
    const out = new Float64Array(count);
    for (let k = 0; k < count; k++) out[k] = this.taper((k - half) / n);
    return out;
  }
}

const GL_N = 96;
const glCache = new Map<number, { nodes: Float64Array; weights: Float64Array }>();
/** Gauss–Legendre nodes and weights on [−1, 1] (Newton iteration on P_n). */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const hit = glCache.get(n);
  if (hit) return hit;
  const nodes = new Float64Array(n), weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1, p1 = x;
      for (let k = 2; k <= n; k++) { const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k; p0 = p1; p1 = p2; }
      dp = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    nodes[i] = x;
    weights[i] = 2 / ((1 - x * x) * dp * dp);
  }
  const r = { nodes, weights };
  glCache.set(n, r);
  return r;
}
