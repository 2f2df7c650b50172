/**
 * NodePort allocation over a port range (default 30000-32767), and the
 * banded bitmap that both this and IpRange are built on.
 *
 * The range is split as in KEP-3668: a lower "static" band of
 * min(max(16, size/32), 128) ports that dynamic allocation uses only when
 * the upper band is full, so users who pick fixed NodePorts from the bottom
 * of the range rarely collide with automatically assigned ones.
 */
import { UsageError } from '../../common/errors.ts';

export type SpecificResult = 'ok' | 'taken' | 'out-of-range';

/** KEP-3070/3668: min(max(min, size/step), max), and no band at all for ranges of `min` or fewer. */
export function staticBandSize(rangeSize: bigint, min: number, step: number, max: number): number {
  if (rangeSize <= BigInt(min)) return 0;
  const scaled = rangeSize / BigInt(step);
  if (scaled < BigInt(min)) return min;
  if (scaled > BigInt(max)) return max;
  return Number(scaled);
}

const fullWord = 0xffffffff;

/**
 * A set of offsets 0..size-1 with a lower static band [0, band). Dynamic
 * allocation walks the upper band from a rotating cursor, then the lower
 * band from its own cursor. Walking on (instead of restarting at the bottom)
 * keeps a just-released value out of reuse until the band wraps, and skipping
 * full 32-bit words keeps a scan cheap even with most of a /12 in use.
 */
export class BandedBitmap {
  readonly size: number;
  readonly band: number;
  readonly #words: Uint32Array;
  #used = 0;
  #upperCursor: number;
  #lowerCursor = 0;

  constructor(size: number, band: number) {
    this.size = size;
    this.band = Math.min(band, size);
    this.#words = new Uint32Array(Math.ceil(size / 32));
    this.#upperCursor = this.band;
  }

  get used(): number {
    return this.#used;
  }

  get free(): number {
    return this.size - this.#used;
  }

  has(offset: number): boolean {
    return ((this.#words[offset >>> 5] ?? 0) & (1 << (offset & 31))) !== 0;
  }

  /** Marks one offset; false when it was already taken. */
  set(offset: number): boolean {
    if (this.has(offset)) return false;
    const word = offset >>> 5;
    this.#words[word] = (this.#words[word] ?? 0) | (1 << (offset & 31));
    this.#used++;
    return true;
  }

  clear(offset: number): void {
    if (!this.has(offset)) return;
    const word = offset >>> 5;
    this.#words[word] = (this.#words[word] ?? 0) & ~(1 << (offset & 31));
    this.#used--;
  }

  /** Takes the next free offset, upper band first; undefined when everything is taken. */
  next(): number | undefined {
    if (this.#used >= this.size) return undefined;
    const upper = this.#scan(this.#upperCursor, this.band, this.size);
    if (upper !== undefined) {
      this.#upperCursor = upper + 1 >= this.size ? this.band : upper + 1;
      this.set(upper);
      return upper;
    }
    const lower = this.#scan(this.#lowerCursor, 0, this.band);
    if (lower === undefined) return undefined;
    this.#lowerCursor = lower + 1 >= this.band ? 0 : lower + 1;
    this.set(lower);
    return lower;
  }

  /** The first free offset in [low, high), starting at `from` and wrapping once. */
  #scan(from: number, low: number, high: number): number | undefined {
    if (high <= low) return undefined;
    const start = from >= low && from < high ? from : low;
    return this.#scanSegment(start, high) ?? this.#scanSegment(low, start);
  }

  #scanSegment(from: number, to: number): number | undefined {
    let offset = from;
    while (offset < to) {
      if ((offset & 31) === 0 && offset + 32 <= to && this.#words[offset >>> 5] === fullWord) {
        offset += 32;
        continue;
      }
      if (!this.has(offset)) return offset;
      offset++;
    }
    return undefined;
  }
}

export interface PortRangeSpec {
  min: number;
  max: number;
}

/** The NodePort range; ports are plain numbers, offsets are port - min. */
export class PortRange {
  readonly min: number;
  readonly max: number;
  readonly #bitmap: BandedBitmap;

  constructor(spec: PortRangeSpec) {
    const { min, max } = spec;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new UsageError(`invalid port range ${min}-${max}: want 1 <= min <= max <= 65535`);
    }
    this.min = min;
    this.max = max;
    const size = max - min + 1;
    this.#bitmap = new BandedBitmap(size, staticBandSize(BigInt(size), 16, 32, 128));
  }

  /** Ports in the lower static band, which dynamic allocation leaves for explicit requests. */
  get staticBand(): number {
    return this.#bitmap.band;
  }

  get size(): number {
    return this.#bitmap.size;
  }

  get used(): number {
    return this.#bitmap.used;
  }

  get free(): number {
    return this.#bitmap.free;
  }

  /** "30000-32767", as kube-apiserver names the range in its errors. */
  toString(): string {
    return `${this.min}-${this.max}`;
  }

  contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.min && port <= this.max;
  }

  has(port: number): boolean {
    return this.contains(port) && this.#bitmap.has(port - this.min);
  }

  /** A free port, upper band first; undefined when the range is exhausted. */
  allocate(): number | undefined {
    const offset = this.#bitmap.next();
    return offset === undefined ? undefined : this.min + offset;
  }

  allocateSpecific(port: number): SpecificResult {
    if (!this.contains(port)) return 'out-of-range';
    return this.#bitmap.set(port - this.min) ? 'ok' : 'taken';
  }

  /** Records a port a stored Service already holds (rebuild); 'taken' means two Services claim it. */
  markUsed(port: number): SpecificResult {
    return this.allocateSpecific(port);
  }

  release(port: number): void {
    if (this.contains(port)) this.#bitmap.clear(port - this.min);
  }
}
