import { describe, expect, test } from 'vitest';
import { humanDuration } from '../../../../controlplane/api/human-duration.ts';

const ms = 1;
const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;
const y = 365 * d;

// Rows mirror apimachinery's TestHumanDuration and TestHumanDurationBoundaries.
describe('humanDuration', () => {
  test.each([
    { name: 'more than a second in the future is invalid', duration: -2 * s, want: '<invalid>' },
    { name: 'up to two seconds in the future is clock skew', duration: -2 * s + 1 * ms, want: '0s' },
    { name: 'zero', duration: 0, want: '0s' },
    { name: 'under a second rounds down', duration: s - ms, want: '0s' },
    { name: 'one second', duration: s, want: '1s' },
    { name: 'seconds up to two minutes', duration: 70 * s, want: '70s' },
    { name: 'last second before two minutes', duration: 2 * m - ms, want: '119s' },
    { name: 'two minutes exactly drops the seconds', duration: 2 * m, want: '2m' },
    { name: 'minutes with seconds under ten minutes', duration: 2 * m + s, want: '2m1s' },
    { name: 'three minutes ten seconds', duration: 190 * s, want: '3m10s' },
    { name: 'last second before ten minutes', duration: 10 * m - ms, want: '9m59s' },
    { name: 'ten minutes drops seconds', duration: 10 * m + s, want: '10m' },
    { name: 'minutes up to three hours', duration: 70 * m, want: '70m' },
    { name: 'last minute before three hours', duration: 3 * h - ms, want: '179m' },
    { name: 'three hours exactly', duration: 3 * h, want: '3h' },
    { name: 'hours with minutes under eight hours', duration: 3 * h + 4 * m, want: '3h4m' },
    { name: 'last minute before eight hours', duration: 8 * h - ms, want: '7h59m' },
    { name: 'eight hours drops minutes', duration: 8 * h + 59 * m, want: '8h' },
    { name: 'hours up to two days', duration: 47 * h, want: '47h' },
    { name: 'two days exactly', duration: 2 * d, want: '2d' },
    { name: 'days with hours under eight days', duration: 49 * h, want: '2d1h' },
    { name: 'last hour before eight days', duration: 8 * d - ms, want: '7d23h' },
    { name: 'eight days drops hours', duration: 8 * d + 23 * h, want: '8d' },
    { name: 'days up to two years', duration: 367 * d, want: '367d' },
    { name: 'last day before two years', duration: 2 * y - ms, want: '729d' },
    { name: 'two years exactly', duration: 2 * y, want: '2y' },
    { name: 'a partial day after two years is not shown', duration: 2 * y + d - ms, want: '2y' },
    { name: 'years with days under eight years', duration: 2 * y + 25 * h, want: '2y1d' },
    { name: 'last day before eight years', duration: 8 * y - ms, want: '7y364d' },
    { name: 'eight years drops days', duration: 8 * y + 364 * d, want: '8y' },
    { name: 'nine years', duration: 9 * y, want: '9y' },
  ])('$name: $duration ms → $want', ({ duration, want }) => {
    expect(humanDuration(duration)).toBe(want);
  });
});
