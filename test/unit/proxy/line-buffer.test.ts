import { expect, test } from 'vitest';
import { LineBuffer } from '../../../proxy/line-buffer.ts';

test('joins words and nested argument lists into counted lines', () => {
  const buffer = new LineBuffer();
  buffer.write('-A', 'CHAIN', ['-m', 'comment'], [], '-j', 'X');
  buffer.write(':CHAIN - [0:0]');
  expect(buffer.text()).toBe('-A CHAIN -m comment -j X\n:CHAIN - [0:0]\n');
  expect(buffer.lines).toBe(2);
});

test('appends lines another buffer wrote', () => {
  const part = new LineBuffer();
  part.write('-A', 'X', '-j', 'Y');
  const whole = new LineBuffer();
  whole.writeLines(part.lineList());
  whole.writeLines(part.lineList());
  expect(whole.text()).toBe('-A X -j Y\n-A X -j Y\n');
  expect(whole.lines).toBe(2);
});
