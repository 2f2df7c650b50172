/**
 * The embedded durable backend: one SQLite file, one in-process writer.
 *
 * `objects` holds the live keys (get/list cost O(live keys)); `events` is the
 * history watches replay from; `meta` holds the current and compacted
 * revisions, so revisions keep increasing across restarts even when
 * compaction has deleted every event. Writes that arrive in the same tick are
 * group-committed: one BEGIN IMMEDIATE…COMMIT and one fsync for all of them,
 * each txn inside its own SAVEPOINT so a failed CAS rolls back only that txn.
 * Events are published to watchers after the commit and before the writers'
 * promises resolve, so an in-process watch cache has applied a write by the
 * time its writer sees it acknowledged.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KplaneError } from '../../common/errors.ts';
import {
  Compacted,
  deliverToWatcher,
  type Backend,
  type ListResult,
  type StorageEvent,
  type StoredValue,
  type TxnOp,
  type WatchHandle,
  type WriteResult,
} from './backend.ts';

export interface SqliteBackendOptions {
  /** Clock stamped on each event for age-based history retention; defaults to Date.now. */
  now?: () => number;
}

/** How much watch history compactHistory keeps: events are dropped only when both limits allow it. */
export interface HistoryRetention {
  /** The newest this many revisions are always kept. */
  minRevisions: number;
  /** Events younger than this are always kept. */
  minAgeMs: number;
}

export interface SqliteBackend extends Backend {
  /**
   * Compacts the history that is both older than minAgeMs and behind the
   * newest minRevisions, so a watcher a few minutes behind resumes without a
   * relist. Meant for a timer. Resolves to the compacted revision afterwards.
   */
  compactHistory(retention?: HistoryRetention): Promise<number>;
}

/** Refused because the backend was closed. */
export class StorageClosedError extends KplaneError {
  constructor() {
    super('KPLANE_STORAGE_CLOSED', 'storage backend is closed');
  }
}

/** The database file is held by another open backend (another process or connection). */
export class StorageLockedError extends KplaneError {
  constructor(path: string, cause: unknown) {
    super('KPLANE_STORAGE_LOCKED', `storage ${path} is in use by another kplane apiserver`, { cause });
  }
}

/** Opens (creating if needed) the database file at path. Throws StorageLockedError if another backend holds it. */
export function openSqliteBackend(path: string, options: SqliteBackendOptions = {}): SqliteBackend {
  return new SqliteStore(path, options.now ?? Date.now);
}

/** kine's floor of 1000 revisions, and twice kube-apiserver's 5-minute compaction interval. */
export const defaultHistoryRetention: Readonly<HistoryRetention> = Object.freeze({ minRevisions: 1000, minAgeMs: 10 * 60_000 });

// Big enough to amortise a commit, small enough that one batch never stalls
// the event loop for long on a large backlog.
const COMPACTION_BATCH_REVISIONS = 10_000;
const SQLITE_BUSY = 5;
// SQLite's default 2 MB page cache makes every full list re-read its pages
// from the OS; 64 MiB holds tens of thousands of objects and is only used as filled.
const PAGE_CACHE_KIB = 64 * 1024;

const schema = `
  CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL,
    value TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS events (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    prev_value TEXT,
    create_rev INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS events_by_age ON events (at_ms);
  CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  );
`;

interface ObjectRow {
  key: string;
  create_rev: number;
  mod_rev: number;
  value: string;
}

/** A list row as an array: skipping per-row column-name objects is most of the cost of a large list. */
type ObjectTuple = [key: string, createRevision: number, modRevision: number, value: string];

interface EventRow {
  rev: number;
  key: string;
  type: 'put' | 'delete';
  value: string;
  prev_value: string | null;
  create_rev: number;
}

interface PendingTxn {
  ops: TxnOp[];
  resolve: (results: WriteResult[]) => void;
  reject: (error: unknown) => void;
}

/** A txn that ran to an answer: written, or refused by a CAS (then its events are empty). */
interface AnsweredTxn {
  pending: PendingTxn;
  results: WriteResult[];
  events: StorageEvent[];
}

interface Watcher {
  prefix: string;
  onEvents: (events: StorageEvent[]) => void;
  /** Guards against delivering an event twice to a watcher registered while a batch is being published. */
  deliveredThrough: number;
}

/**
 * The key range [start, end) holding exactly the keys that start with prefix,
 * so prefix scans use the primary key and treat % and _ as plain characters.
 * SQLite compares TEXT as UTF-8 bytes, i.e. in code point order, so the end
 * is the prefix with its last code point incremented; undefined means no end.
 */
export function prefixRange(prefix: string): { start: string; end: string | undefined } {
  const codePoints = Array.from(prefix, (char) => char.codePointAt(0) as number);
  for (let index = codePoints.length - 1; index >= 0; index--) {
    const last = codePoints[index] as number;
    if (last === 0x10ffff) continue;
    // Skipping the surrogate block keeps the bound a valid string.
    const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
    return { start: prefix, end: String.fromCodePoint(...codePoints.slice(0, index), next) };
  }
  return { start: prefix, end: undefined };
}

class SqliteStore implements SqliteBackend {
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private revision: number;
  private compacted: number;
  /** Event timestamps never go backwards, so "older than" agrees with revision order even if the clock steps back. */
  private lastEventAtMs: number;
  private pending: PendingTxn[] = [];
  private flushScheduled = false;
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  constructor(path: string, now: () => number) {
    this.now = now;
    this.db = new DatabaseSync(path);
    try {
      // EXCLUSIVE must come before WAL: the file lock then stays with this
      // connection, so a second apiserver on the same data dir fails fast
      // instead of interleaving revisions, and no shared-memory index is needed.
      this.db.exec(`PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -${PAGE_CACHE_KIB};`);
      this.db.exec(schema);
    } catch (error) {
      this.db.close();
      if (isBusy(error)) throw new StorageLockedError(path, error);
      throw error;
    }
    this.statements = prepareStatements(this.db);
    this.revision = this.readMeta('revision');
    this.compacted = this.readMeta('compacted');
    this.lastEventAtMs = (this.statements.newestEventAge.get() as { at_ms: number } | undefined)?.at_ms ?? 0;
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.assertOpen();
    const row = this.statements.getObject.get(key) as ObjectRow | undefined;
    return row && toStoredValue(row);
  }

  async list(prefix: string): Promise<ListResult> {
    this.assertOpen();
    const { start, end } = prefixRange(prefix);
    const rows = (end === undefined ? this.statements.listFrom.all(start) : this.statements.listRange.all(start, end)) as unknown as ObjectTuple[];
    return { items: rows.map(([key, createRevision, modRevision, value]) => ({ key, value, createRevision, modRevision })), revision: this.revision };
  }

  currentRevision(): number {
    return this.revision;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  txn(ops: TxnOp[]): Promise<WriteResult[]> {
    if (this.closed) return Promise.reject(new StorageClosedError());
    return new Promise((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A macrotask rather than a microtask, so writers woken by the
        // previous commit's resolutions all join the next batch.
        setImmediate(() => this.flush());
      }
    });
  }

  async watch(prefix: string, afterRevision: number, onEvents: (events: StorageEvent[]) => void): Promise<WatchHandle> {
    this.assertOpen();
    if (afterRevision < this.compacted) throw new Compacted(afterRevision, this.compacted);
    // Replay and registration happen in one synchronous step and every commit
    // publishes synchronously, so no write can fall between them.
    const { start, end } = prefixRange(prefix);
    const rows = (end === undefined
      ? this.statements.eventsAfterFrom.all(afterRevision, start)
      : this.statements.eventsAfterRange.all(afterRevision, start, end)) as unknown as EventRow[];
    const watcher: Watcher = { prefix, onEvents, deliveredThrough: Math.max(afterRevision, this.revision) };
    if (rows.length > 0 && !deliverToWatcher(onEvents, rows.map(toStorageEvent))) return { stop: () => {} };
    this.watchers.add(watcher);
    return { stop: () => this.watchers.delete(watcher) };
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.revision) throw new RangeError(`cannot compact to revision ${revision}: the current revision is ${this.revision}`);
    while (this.compacted < revision && !this.closed) {
      const through = Math.min(revision, this.compacted + COMPACTION_BATCH_REVISIONS);
      this.statements.begin.run();
      try {
        this.statements.deleteEventsThrough.run(through);
        this.statements.setMeta.run('compacted', through);
        this.statements.commit.run();
      } catch (error) {
        this.statements.rollback.run();
        throw error;
      }
      this.compacted = through;
      if (this.compacted < revision) await nextTurn();
    }
  }

  async compactHistory(retention: HistoryRetention = defaultHistoryRetention): Promise<number> {
    this.assertOpen();
    const oldEnough = this.statements.newestEventAtOrBefore.get(this.now() - retention.minAgeMs) as { rev: number } | undefined;
    const target = Math.min(this.revision - retention.minRevisions, oldEnough?.rev ?? 0);
    if (target > this.compacted) await this.compact(target);
    return this.compacted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Writes already submitted are committed rather than dropped unanswered.
    this.flush();
    this.closed = true;
    this.watchers.clear();
    this.db.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;

    const atMs = Math.max(this.lastEventAtMs, this.now());
    let revision = this.revision;
    const answered: AnsweredTxn[] = [];
    const failed: { pending: PendingTxn; error: unknown }[] = [];
    try {
      this.statements.begin.run();
      for (const pending of batch) {
        this.statements.savepoint.run();
        try {
          const outcome = this.applyTxn(pending.ops, revision, atMs);
          if (outcome.succeeded) revision += outcome.events.length;
          else this.statements.rollbackToSavepoint.run();
          this.statements.releaseSavepoint.run();
          answered.push({ pending, ...outcome });
        } catch (error) {
          this.statements.rollbackToSavepoint.run();
          this.statements.releaseSavepoint.run();
          failed.push({ pending, error });
        }
      }
      if (revision !== this.revision) this.statements.setMeta.run('revision', revision);
      this.statements.commit.run();
    } catch (error) {
      if (this.db.isTransaction) this.statements.rollback.run();
      for (const pending of batch) pending.reject(error);
      return;
    }

    this.revision = revision;
    this.lastEventAtMs = atMs;
    for (const txn of answered) this.publish(txn.events);
    for (const txn of answered) txn.pending.resolve(txn.results);
    for (const { pending, error } of failed) pending.reject(error);
  }

  /** Runs one txn inside the open savepoint; the caller rolls the savepoint back unless it succeeded. */
  private applyTxn(ops: TxnOp[], baseRevision: number, atMs: number): { succeeded: boolean; results: WriteResult[]; events: StorageEvent[] } {
    const events: StorageEvent[] = [];
    for (const [index, op] of ops.entries()) {
      const row = this.statements.getObject.get(op.key) as ObjectRow | undefined;
      const failure = casFailure(op, row);
      if (failure) {
        const results: WriteResult[] = ops.map(() => ({ ok: false, reason: 'aborted' }));
        results[index] = failure;
        return { succeeded: false, results, events: [] };
      }
      const revision = baseRevision + events.length + 1;
      events.push(this.writeOp(op, row, revision, atMs));
    }
    return { succeeded: true, results: events.map((event) => ({ ok: true, revision: event.revision })), events };
  }

  private writeOp(op: TxnOp, row: ObjectRow | undefined, revision: number, atMs: number): StorageEvent {
    const { statements } = this;
    if (op.op === 'delete') {
      const deleted = row as ObjectRow;
      statements.deleteObject.run(op.key);
      statements.insertEvent.run(revision, op.key, 'delete', deleted.value, deleted.value, deleted.create_rev, atMs);
      return { type: 'delete', key: op.key, value: deleted.value, prevValue: deleted.value, revision, createRevision: deleted.create_rev };
    }
    const value = op.value(revision);
    if (row === undefined) {
      statements.insertObject.run(op.key, revision, revision, value);
      statements.insertEvent.run(revision, op.key, 'put', value, null, revision, atMs);
      return { type: 'put', key: op.key, value, revision, createRevision: revision };
    }
    statements.updateObject.run(revision, value, op.key);
    statements.insertEvent.run(revision, op.key, 'put', value, row.value, row.create_rev, atMs);
    return { type: 'put', key: op.key, value, prevValue: row.value, revision, createRevision: row.create_rev };
  }

  private publish(events: StorageEvent[]): void {
    for (const watcher of [...this.watchers]) {
      if (!this.watchers.has(watcher)) continue;
      const matching = events.filter((event) => event.revision > watcher.deliveredThrough && event.key.startsWith(watcher.prefix));
      if (matching.length === 0) continue;
      watcher.deliveredThrough = (matching.at(-1) as StorageEvent).revision;
      if (!deliverToWatcher(watcher.onEvents, matching)) this.watchers.delete(watcher);
    }
  }

  private readMeta(name: string): number {
    return (this.statements.getMeta.get(name) as { value: number } | undefined)?.value ?? 0;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}

function casFailure(op: TxnOp, row: ObjectRow | undefined): WriteResult | undefined {
  if (op.op === 'create') return row ? { ok: false, reason: 'exists', current: toStoredValue(row) } : undefined;
  if (row === undefined) return { ok: false, reason: 'not-found' };
  if (op.expectModRevision !== undefined && op.expectModRevision !== row.mod_rev) return { ok: false, reason: 'conflict', current: toStoredValue(row) };
  return undefined;
}

function prepareStatements(db: DatabaseSync) {
  const prepare = (sql: string): StatementSync => db.prepare(sql);
  const prepareTuples = (sql: string): StatementSync => {
    const statement = db.prepare(sql);
    statement.setReturnArrays(true);
    return statement;
  };
  const eventColumns = 'rev, key, type, value, prev_value, create_rev';
  return {
    begin: prepare('BEGIN IMMEDIATE'),
    commit: prepare('COMMIT'),
    rollback: prepare('ROLLBACK'),
    savepoint: prepare('SAVEPOINT txn'),
    rollbackToSavepoint: prepare('ROLLBACK TO txn'),
    releaseSavepoint: prepare('RELEASE txn'),
    getObject: prepare('SELECT key, create_rev, mod_rev, value FROM objects WHERE key = ?'),
    listRange: prepareTuples('SELECT key, create_rev, mod_rev, value FROM objects WHERE key >= ? AND key < ? ORDER BY key'),
    listFrom: prepareTuples('SELECT key, create_rev, mod_rev, value FROM objects WHERE key >= ? ORDER BY key'),
    insertObject: prepare('INSERT INTO objects (key, create_rev, mod_rev, value) VALUES (?, ?, ?, ?)'),
    updateObject: prepare('UPDATE objects SET mod_rev = ?, value = ? WHERE key = ?'),
    deleteObject: prepare('DELETE FROM objects WHERE key = ?'),
    insertEvent: prepare('INSERT INTO events (rev, key, type, value, prev_value, create_rev, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    eventsAfterRange: prepare(`SELECT ${eventColumns} FROM events WHERE rev > ? AND key >= ? AND key < ? ORDER BY rev`),
    eventsAfterFrom: prepare(`SELECT ${eventColumns} FROM events WHERE rev > ? AND key >= ? ORDER BY rev`),
    deleteEventsThrough: prepare('DELETE FROM events WHERE rev <= ?'),
    newestEventAge: prepare('SELECT at_ms FROM events ORDER BY rev DESC LIMIT 1'),
    newestEventAtOrBefore: prepare('SELECT rev FROM events WHERE at_ms <= ? ORDER BY at_ms DESC, rev DESC LIMIT 1'),
    getMeta: prepare('SELECT value FROM meta WHERE name = ?'),
    setMeta: prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
  };
}

function toStoredValue(row: ObjectRow): StoredValue {
  return { key: row.key, value: row.value, createRevision: row.create_rev, modRevision: row.mod_rev };
}

function toStorageEvent(row: EventRow): StorageEvent {
  const event: StorageEvent = { type: row.type, key: row.key, value: row.value, revision: row.rev, createRevision: row.create_rev };
  if (row.prev_value !== null) event.prevValue = row.prev_value;
  return event;
}

function isBusy(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { errcode?: unknown }).errcode === SQLITE_BUSY;
}
