/**
 * The one module that owns the SQLite registry: opening, pragmas, migrations, transactions.
 * Commands never talk to better-sqlite3 directly; they use the typed queries in this folder,
 * so that a server database could later sit behind the same functions.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DsaError } from '../util/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** Create the file (and its directory) when missing. Default true. */
  create?: boolean;
  readonly?: boolean;
  /** Apply migrations up to this version only (tests of N−1 → N). */
  migrateTo?: number;
}

export class Registry {
  readonly db: Db;
  readonly path: string;
  private constructor(db: Db, p: string) {
    this.db = db;
    this.path = p;
  }

  static open(dbFile: string, opts: OpenOptions = {}): Registry {
    const p = path.resolve(dbFile);
    const create = opts.create ?? true;
    if (!existsSync(p)) {
      if (!create || opts.readonly) {
        throw new DsaError(`registry database not found (create it with 'dsa110 registry init')`, { subject: p });
      }
      mkdirSync(path.dirname(p), { recursive: true });
    } else if (statSync(p).isDirectory()) {
      throw new DsaError('registry path is a directory, not a database file', { subject: p });
    }
    let db: Db;
    try {
      db = new Database(p, { readonly: opts.readonly ?? false, fileMustExist: !create });
    } catch (e) {
      throw new DsaError(`cannot open registry database: ${(e as Error).message}`, { subject: p, cause: e });
    }
    const reg = new Registry(db, p);
    try {
      // Reading the schema version first makes a non-database file fail here, clearly.
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new DsaError(
          `registry schema version ${version} is newer than this toolkit supports (${SCHEMA_VERSION}); upgrade dsa110`,
          { subject: p },
        );
      }
      db.pragma('busy_timeout = 30000');
      db.pragma('foreign_keys = ON');
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        reg.migrate(opts.migrateTo ?? SCHEMA_VERSION);
      }
    } catch (e) {
      db.close();
      if (e instanceof DsaError) throw e;
      const msg = (e as Error).message;
      const hint = /not a database|malformed|file is encrypted/i.test(msg) ? 'file is not a valid SQLite database (corrupt?)' : msg;
      throw new DsaError(hint, { subject: p, cause: e });
    }
    return reg;
  }

  get version(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(target: number): void {
    const current = this.version;
    for (const m of MIGRATIONS) {
      if (m.version <= current || m.version > target) continue;
      // IMMEDIATE: two processes opening a fresh db at once must not both migrate.
      this.write(() => {
        if ((this.db.pragma('user_version', { simple: true }) as number) >= m.version) return;
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      });
    }
  }

  /** Run fn in a BEGIN IMMEDIATE transaction (every write goes through here). */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** MJD days now (UTC). The registry stores every time as MJD days. */
export function mjdNow(): number {
  return Date.now() / 86400000 + 40587;
}
