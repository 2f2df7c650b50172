import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../../common/errors.ts';
import { BandedBitmap, PortRange, staticBandSize } from '../../../../controlplane/allocators/port-range.ts';

describe('staticBandSize', () => {
  test.each([
    { name: 'a range of 16 or fewer has no static band', size: 16n, band: 0 },
    { name: 'a range just over the minimum gets the 16-entry minimum band', size: 17n, band: 16 },
    { name: 'the default NodePort range gets size/32 = 86', size: 2768n, band: 86 },
    { name: 'all 65535 ports are capped at 128', size: 65535n, band: 128 },
  ])('$name', ({ size, band }) => {
    expect(staticBandSize(size, 16, 32, 128)).toBe(band);
  });

  test.each([
    { name: 'a /24 (256 addresses) gets 256/16 = 16', size: 256n, band: 16 },
    { name: 'a /12 is capped at 256', size: 1n << 20n, band: 256 },
    { name: 'a /64 (beyond 2^63) is capped at 256', size: 1n << 64n, band: 256 },
  ])('IP band: $name', ({ size, band }) => {
    expect(staticBandSize(size, 16, 16, 256)).toBe(band);
  });
});

describe('BandedBitmap', () => {
  test('hands out the upper band in order, then the lower band, then nothing', () => {
    const bitmap = new BandedBitmap(6, 2);
    const taken = Array.from({ length: 7 }, () => bitmap.next());
    expect(taken).toEqual([2, 3, 4, 5, 0, 1, undefined]);
    expect(bitmap.free).toBe(0);
  });

  test('walks on past a released offset instead of reusing it at once', () => {
    const bitmap = new BandedBitmap(10, 0);
    expect([bitmap.next(), bitmap.next(), bitmap.next()]).toEqual([0, 1, 2]);
    bitmap.clear(1);
    expect(bitmap.next()).toBe(3);
  });

  test('wraps around to offsets freed behind the cursor once the band end is reached', () => {
    const bitmap = new BandedBitmap(4, 0);
    for (let i = 0; i < 4; i++) bitmap.next();
    bitmap.clear(1);
    expect(bitmap.next()).toBe(1);
  });

  test('skips whole taken words and still finds a free offset past them', () => {
    const bitmap = new BandedBitmap(100, 0);
    for (let offset = 0; offset < 99; offset++) bitmap.set(offset);
    expect(bitmap.next()).toBe(99);
    expect(bitmap.next()).toBeUndefined();
  });
});

describe('PortRange', () => {
  test.each([
    { name: 'the default range', min: 30000, max: 32767, size: 2768, band: 86, first: 30086 },
    { name: 'a tiny range without a band', min: 30000, max: 30009, size: 10, band: 0, first: 30000 },
    { name: 'a 50-port range with the minimum band', min: 30000, max: 30049, size: 50, band: 16, first: 30016 },
  ])('$name: size $size, static band $band, first dynamic port $first', ({ min, max, size, band, first }) => {
    const range = new PortRange({ min, max });
    expect(range.size).toBe(size);
    expect(range.staticBand).toBe(band);
    expect(range.allocate()).toBe(first);
    expect(range.toString()).toBe(`${min}-${max}`);
  });

  test('dynamic allocation uses the static band only after the rest is exhausted', () => {
    const range = new PortRange({ min: 30000, max: 30049 });
    const upper = Array.from({ length: 34 }, () => range.allocate() as number);
    expect(Math.min(...upper)).toBe(30016);
    expect(new Set(upper).size).toBe(34);
    const lower = Array.from({ length: 16 }, () => range.allocate() as number);
    expect(lower).toEqual(Array.from({ length: 16 }, (_, i) => 30000 + i));
    expect(range.allocate()).toBeUndefined();
    expect(range.free).toBe(0);
  });

  test.each([
    { name: 'a free port in range is granted', port: 30500, result: 'ok' },
    { name: 'a port already held is refused as taken', port: 30001, result: 'taken' },
    { name: 'a port below the range is out of range', port: 80, result: 'out-of-range' },
    { name: 'a port above the range is out of range', port: 32768, result: 'out-of-range' },
    { name: 'a fractional port is out of range', port: 30000.5, result: 'out-of-range' },
  ])('allocateSpecific: $name', ({ port, result }) => {
    const range = new PortRange({ min: 30000, max: 32767 });
    range.allocateSpecific(30001);
    expect(range.allocateSpecific(port)).toBe(result);
  });

  test('release frees a port for a specific request and updates the counts', () => {
    const range = new PortRange({ min: 30000, max: 32767 });
    expect(range.allocateSpecific(30080)).toBe('ok');
    expect([range.used, range.free, range.has(30080)]).toEqual([1, 2767, true]);
    range.release(30080);
    expect([range.used, range.free, range.has(30080)]).toEqual([0, 2768, false]);
    expect(range.allocateSpecific(30080)).toBe('ok');
  });

  test('release of a port outside the range or not held changes nothing', () => {
    const range = new PortRange({ min: 30000, max: 32767 });
    range.allocateSpecific(30080);
    range.release(80);
    range.release(30081);
    expect(range.used).toBe(1);
  });

  test('markUsed reports a port claimed twice, as rebuild needs', () => {
    const range = new PortRange({ min: 30000, max: 32767 });
    expect(range.markUsed(30080)).toBe('ok');
    expect(range.markUsed(30080)).toBe('taken');
  });

  test('every port of the default range is handed out exactly once', () => {
    const range = new PortRange({ min: 30000, max: 32767 });
    const ports = new Set<number>();
    for (let port = range.allocate(); port !== undefined; port = range.allocate()) ports.add(port);
    expect(ports.size).toBe(2768);
    expect(Math.min(...ports)).toBe(30000);
    expect(Math.max(...ports)).toBe(32767);
  });

  test.each([
    { name: 'min above max', min: 32767, max: 30000 },
    { name: 'port 0', min: 0, max: 100 },
    { name: 'beyond 65535', min: 60000, max: 70000 },
  ])('rejects $name', ({ min, max }) => {
    expect(() => new PortRange({ min, max })).toThrow(UsageError);
  });
});
