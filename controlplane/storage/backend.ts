/**
 * The storage contract every backend implements (embedded SQLite now, etcd
 * later). It is deliberately etcd-shaped: one global, strictly increasing
 * revision; an object's modRevision is the revision of its last write;
 * compare-and-swap on modRevision; watch from a revision with the previous
 * value; compaction makes older revisions unavailable (Compacted → 410).
 * Values are opaque bytes (JSON text) to the backend. Methods are async
 * because a networked backend (etcd) must be; the embedded one resolves at
 * once after its durable commit.
 */

export interface StoredValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
}

export interface ListResult {
  items: StoredValue[];
  /** The revision the list was read at. */
  revision: number;
}

export type StorageEventType = 'put' | 'delete';

export interface StorageEvent {
  type: StorageEventType;
  key: string;
  /** The value after the event (for a delete: the value that was deleted). */
  value: string;
  /** For updates and deletes, the value before; undefined for a create. */
  prevValue?: string;
  revision: number;
  createRevision: number;
}

/**
 * One result per op. 'aborted' marks the other ops of a txn whose CAS failed:
 * they were rolled back with it, so they are neither written nor the cause.
 */
export type WriteResult =
  | { ok: true; revision: number }
  | { ok: false; reason: 'exists' | 'not-found' | 'conflict' | 'aborted'; current?: StoredValue };

export interface WatchHandle {
  stop(): void;
}

export interface Backend {
  get(key: string): Promise<StoredValue | undefined>;
  /** Every live key starting with prefix, ordered by key. */
  list(prefix: string): Promise<ListResult>;
  /** Latest committed revision (known locally; cheap). */
  currentRevision(): number;
  /** Oldest revision a watch may start after (inclusive): watching from below it throws Compacted. */
  compactedRevision(): number;
  /**
   * Writes a group of operations atomically (one transaction, one durable
   * commit). Each op gets its own revision, in order. If any CAS fails,
   * nothing is written: that op's result carries the reason (and `current`
   * when the key exists) and every other op's result is 'aborted'.
   * `value` is a function so it can embed the revision it is assigned
   * (resourceVersion lives inside the stored JSON). Resolves after the
   * commit is durable. Backends may group-commit transactions submitted in
   * the same tick; each keeps its own all-or-nothing outcome.
   */
  txn(ops: TxnOp[]): Promise<WriteResult[]>;
  /** Events with revision > afterRevision matching prefix, then live events, in order, never split across a txn. Rejects with Compacted. */
  watch(prefix: string, afterRevision: number, onEvents: (events: StorageEvent[]) => void): Promise<WatchHandle>;
  /** Drops history at or below revision. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export type TxnOp =
  | { op: 'create'; key: string; value: (revision: number) => string }
  | { op: 'update'; key: string; expectModRevision?: number; value: (revision: number) => string }
  | { op: 'delete'; key: string; expectModRevision?: number };

export class Compacted extends Error {
  readonly requested: number;
  readonly compactedRevision: number;
  constructor(requested: number, compactedRevision: number) {
    super(`too old resource version: ${requested} (${compactedRevision})`);
    this.name = 'Compacted';
    this.requested = requested;
    this.compactedRevision = compactedRevision;
  }
}

/**
 * Hands events to one watcher so that a throwing consumer cannot break
 * delivery to the others or the writer waiting on its commit. The error is
 * rethrown on the next tick, where it surfaces like a throwing event
 * listener's. Returns false when the callback threw, so the caller can stop
 * a watcher whose state is now unknown.
 */
export function deliverToWatcher<T>(onEvents: (events: T[]) => void, events: T[]): boolean {
  try {
    onEvents(events);
    return true;
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
    return false;
  }
}
