import { describe, it, expect } from 'vitest';
import { parseSubbandName, groupSubbands, isIncompleteName, groupIdToMjd } from '../../src/convert/grouping.js';

const f = (name: string) => parseSubbandName('/in/' + name)!;

describe('subband grouping', () => {
  it('parses DSA-110 file names', () => {
    const p = f('2025-10-02T00:12:00_sb07.hdf5');
    expect(p.subband).toBe(7);
    expect(p.timestamp).toBe('2025-10-02T00:12:00');
    expect(p.time).toBe(Date.UTC(2025, 9, 2, 0, 12, 0) / 1000);
    expect(parseSubbandName('/in/2025-10-02T00:12:00_sb7.hdf5')).toBeUndefined();
    expect(parseSubbandName('/in/notes.txt')).toBeUndefined();
    expect(isIncompleteName('/in/2025-10-02T00:12:00_sb07_incomplete.hdf5')).toBe(true);
    expect(groupIdToMjd('2025-10-02T00:12:00')).toBeCloseTo(60950 + 12 / 1440, 9);
  });

  it('clusters jittered times within the tolerance, anchored on the first file', () => {
    const files = [
      // group 1: jitter of up to ~50 s
      ...Array.from({ length: 16 }, (_, sb) => f(`2025-10-02T00:12:${String(sb * 3).padStart(2, '0')}_sb${String(sb).padStart(2, '0')}.hdf5`)),
      // group 2: 309 s later, 15 subbands (sb09 missing)
      ...Array.from({ length: 16 }, (_, sb) => sb).filter((sb) => sb !== 9).map((sb) => f(`2025-10-02T00:17:${String(9 + (sb % 5)).padStart(2, '0')}_sb${String(sb).padStart(2, '0')}.hdf5`)),
    ];
    const groups = groupSubbands(files, 16, 60);
    expect(groups).toHaveLength(2);
    expect(groups[0]!.groupId).toBe('2025-10-02T00:12:00');
    expect(groups[0]!.complete).toBe(true);
    expect(groups[1]!.groupId).toBe('2025-10-02T00:17:09');
    expect(groups[1]!.missing).toEqual([9]);
    expect(groups[1]!.complete).toBe(false);
  });

  it('splits files further apart than the tolerance and reports duplicate subbands', () => {
    const g = groupSubbands([f('2025-10-02T00:00:00_sb00.hdf5'), f('2025-10-02T00:01:01_sb01.hdf5'), f('2025-10-02T00:00:30_sb00.hdf5')], 2, 60);
    expect(g).toHaveLength(2);
    expect(g[0]!.duplicates.map((d) => d.timestamp)).toEqual(['2025-10-02T00:00:30']);
    expect(g[1]!.groupId).toBe('2025-10-02T00:01:01');
  });
});
