// Child process for the concurrency test: claims groups until none are pending.
import { Registry } from '../../dist/src/registry/db.js';
import { claimNextGroup, completeGroup } from '../../dist/src/registry/queue.js';

const [dbFile, worker] = process.argv.slice(2);
const reg = Registry.open(dbFile);
const claimed = [];
const errors = [];
for (;;) {
  try {
    const g = claimNextGroup(reg, worker);
    if (!g) break;
    claimed.push(g.group_id);
    completeGroup(reg, g.group_id, `/ms/${g.group_id}.ms.zarr`);
  } catch (e) {
    errors.push(String(e && e.code ? e.code : e));
    if (errors.length > 100) break;
  }
}
reg.close();
process.stdout.write(JSON.stringify({ claimed, errors }));
