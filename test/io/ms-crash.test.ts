/**
 * Crash safety of column replacement and atomic directory writes. A crash is simulated by a
 * failpoint that throws SimulatedCrash (no cleanup runs, as when the process dies) and by building
 * each intermediate on-disk state by hand; then the writer's pid is made "dead" by renaming its
 * temps, as housekeeping would find them after a real crash.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openMs, replaceColumn } from '../../src/io/ms.js';
import {
  SimulatedCrash,
  TEMP_PATTERN,
  parseTempName,
  tempSiblingName,
  writeDirAtomic,
  writeFileAtomic,
  recoverAtomicDir,
  ioError,
  FailPoint,
} from '../../src/util/atomic.js';
import { DsaError } from '../../src/util/errors.js';
import { DEAD_PID, cols, writeFixture } from './ms-fixture.js';

let tmp: string;
let P: string;
beforeEach(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'ms-crash-'));
  P = path.join(tmp, 'G.ms.zarr');
});
afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** Pretend the process that left temps in `dir` has died. */
async function killWriter(dir: string): Promise<void> {
  for (const n of await fsp.readdir(dir)) {
    if (TEMP_PATTERN.test(n)) await fsp.rename(path.join(dir, n), path.join(dir, n.replace(`-${process.pid}-`, `-${DEAD_PID}-`)));
  }
}
const hidden = async (dir: string) => (await fsp.readdir(dir)).filter((n) => TEMP_PATTERN.test(n) || n === '.dsa110.lock');
const crashAt = (step: string): FailPoint => (s) => {
  if (s === step) throw new SimulatedCrash(s);
};

describe('replaceColumn crash safety', () => {
  it('produce throwing partway leaves the old FLAG intact and no temp behind', async () => {
    const m = await writeFixture(P);
    const ms = await openMs(P);
    const n = m.nBaselines * m.nChan * m.nPol;
    await expect(
      replaceColumn(ms, 'FLAG', (t) => {
        if (t === 2) throw new Error('flagger exploded');
        return new Uint8Array(n).fill(1);
      }),
    ).rejects.toThrow(/flagger exploded/);
    expect(await hidden(P)).toEqual([]);
    const again = await openMs(P);
    for (let t = 0; t < 3; t++) expect(await again.readTime('FLAG', t)).toEqual(cols(m, t).FLAG);
    expect(again.history().length).toBe(1);
  });

  // After a crash at each step, the next open must show a complete FLAG: the old one if the crash
  // came before the new one was renamed in, the new one after.
  for (const [step, expectNew] of [
    ['built', false],
    ['old-aside', false],
    ['new-in', true],
    ['old-removed', true],
  ] as const) {
    it(`crash at "${step}" → ${expectNew ? 'new' : 'old'} FLAG after recovery on open`, async () => {
      const m = await writeFixture(P);
      const ms = await openMs(P);
      const n = m.nBaselines * m.nChan * m.nPol;
      const ones = new Uint8Array(n).fill(1);
      await expect(replaceColumn(ms, 'FLAG', () => ones, { failpoint: crashAt(step), history: { command: 'flag', version: '1', args: [] } })).rejects.toBeInstanceOf(
        SimulatedCrash,
      );
      const left = await fsp.readdir(P);
      if (step === 'old-aside') expect(left.includes('FLAG')).toBe(false); // the dangerous window
      // While the writer is alive, another reader's recovery leaves its temps alone (and, in the
      // rename window, waits for the column to come back before giving up).
      if (step === 'old-aside') await expect(openMs(P, { swapWaitMs: 50 })).rejects.toThrow(/missing array FLAG/);
      else await openMs(P);
      expect((await hidden(P)).length).toBe({ built: 1, 'old-aside': 2, 'new-in': 1, 'old-removed': 0 }[step]);
      await killWriter(P);
      const r = await openMs(P);
      expect(await hidden(P)).toEqual([]);
      for (let t = 0; t < 3; t++) expect(await r.readTime('FLAG', t)).toEqual(expectNew ? ones : cols(m, t).FLAG);
      expect(await r.readTime('DATA', 1)).toEqual(cols(m, 1).DATA);
    });
  }

  it('crash after a new MODEL_DATA is renamed in but before .zmetadata is updated → .zmetadata rebuilt on open', async () => {
    const m = await writeFixture(P);
    const ms = await openMs(P);
    const n = 2 * m.nBaselines * m.nChan * m.nPol;
    await expect(replaceColumn(ms, 'MODEL_DATA', () => new Float32Array(n).fill(2), { failpoint: crashAt('new-in') })).rejects.toBeInstanceOf(SimulatedCrash);
    const before = JSON.parse(await fsp.readFile(path.join(P, '.zmetadata'), 'utf8'));
    expect(before.metadata['MODEL_DATA/.zarray']).toBeUndefined();
    const r = await openMs(P);
    expect(r.has('MODEL_DATA')).toBe(true);
    const after = JSON.parse(await fsp.readFile(path.join(P, '.zmetadata'), 'utf8'));
    expect(after.metadata['MODEL_DATA/.zarray'].dtype).toBe('<c8');
  });

  it('hand-built state: FLAG renamed aside, half-written new FLAG temp, stale lock → old FLAG restored', async () => {
    const m = await writeFixture(P);
    await fsp.rename(path.join(P, 'FLAG'), path.join(P, `.FLAG.old-${DEAD_PID}-0123456789ab`));
    await fsp.mkdir(path.join(P, `.FLAG.tmp-${DEAD_PID}-0123456789ac`));
    await fsp.writeFile(path.join(P, `.FLAG.tmp-${DEAD_PID}-0123456789ac`, '0.0.0.0'), 'partial');
    await fsp.writeFile(path.join(P, '.dsa110.lock'), String(DEAD_PID));
    const r = await openMs(P);
    expect(await hidden(P)).toEqual([]);
    for (let t = 0; t < 3; t++) expect(await r.readTime('FLAG', t)).toEqual(cols(m, t).FLAG);
  });

  it("temps of a live process are left alone", async () => {
    await writeFixture(P);
    const live = path.join(P, `.FLAG.tmp-${process.pid}-0123456789ab`);
    await fsp.mkdir(live);
    await openMs(P);
    expect((await fsp.stat(live)).isDirectory()).toBe(true);
  });
});

describe('atomic helpers', () => {
  it('temp names match TEMP_PATTERN and parse back', () => {
    const t = tempSiblingName('/a/b/G.ms.zarr');
    expect(path.dirname(t)).toBe('/a/b');
    expect(parseTempName(path.basename(t))).toEqual({ name: 'G.ms.zarr', kind: 'tmp', pid: process.pid });
    expect(parseTempName(path.basename(tempSiblingName('/x/FLAG', 'old')))?.kind).toBe('old');
    expect(TEMP_PATTERN.test('G.ms.zarr')).toBe(false);
  });

  it('writeFileAtomic writes and replaces, leaving no temp', async () => {
    const f = path.join(tmp, 'f.json');
    await writeFileAtomic(f, 'one');
    await writeFileAtomic(f, new Uint8Array([116, 119, 111]));
    expect(await fsp.readFile(f, 'utf8')).toBe('two');
    expect(await fsp.readdir(tmp)).toEqual(['f.json']);
    await expect(writeFileAtomic(path.join(tmp, 'no', 'dir', 'f'), 'x')).rejects.toThrow();
  });

  it('ENOSPC and EACCES become one-line DsaErrors naming the path; the partial temp is removed', async () => {
    const d = path.join(tmp, 'out.zarr');
    await writeDirAtomic(d, async (t) => fsp.writeFile(path.join(t, 'v'), 'old'));
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const e = await writeDirAtomic(d, async (t) => {
      await fsp.writeFile(path.join(t, 'v'), 'partial');
      throw enospc;
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DsaError);
    expect((e as DsaError).oneLine()).toBe(`${d}: disk full while writing ${d}`);
    expect(await fsp.readdir(tmp)).toEqual(['out.zarr']);
    expect(await fsp.readFile(path.join(d, 'v'), 'utf8')).toBe('old');
    const eacces = ioError(Object.assign(new Error('EACCES'), { code: 'EACCES' }), 'writing', '/x/y');
    expect((eacces as DsaError).message).toBe('permission denied while writing /x/y');
    const other = new Error('other');
    expect(ioError(other, 'writing', '/x')).toBe(other);
  });

  for (const [step, expectNew] of [
    ['built', false],
    ['old-aside', false],
    ['new-in', true],
    ['old-removed', true],
  ] as const) {
    it(`writeDirAtomic crash at "${step}" → recoverAtomicDir leaves the ${expectNew ? 'new' : 'old'} tree complete`, async () => {
      const d = path.join(tmp, 'cal.bpcal.zarr');
      await writeDirAtomic(d, async (t) => {
        await fsp.writeFile(path.join(t, 'a'), 'old-a');
        await fsp.writeFile(path.join(t, 'b'), 'old-b');
      });
      await expect(
        writeDirAtomic(
          d,
          async (t) => {
            await fsp.writeFile(path.join(t, 'a'), 'new-a');
            await fsp.writeFile(path.join(t, 'b'), 'new-b');
          },
          { failpoint: crashAt(step) },
        ),
      ).rejects.toBeInstanceOf(SimulatedCrash);
      // Live writer: nothing is touched.
      expect(await recoverAtomicDir(d)).toEqual([]);
      await killWriter(tmp);
      await recoverAtomicDir(d);
      expect(await fsp.readdir(tmp)).toEqual(['cal.bpcal.zarr']);
      const v = expectNew ? 'new' : 'old';
      expect(await fsp.readFile(path.join(d, 'a'), 'utf8')).toBe(`${v}-a`);
      expect(await fsp.readFile(path.join(d, 'b'), 'utf8')).toBe(`${v}-b`);
    });
  }
});
