/** Small helpers shared by the benchmarks (run.ts skips files starting with "_"). */

/** Median of the values (mean of the middle two for an even count). */
export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
