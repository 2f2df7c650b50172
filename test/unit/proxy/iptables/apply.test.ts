import { describe, expect, test } from 'vitest';
import { IptablesRestoreError, ProxyCommandError } from '../../../../proxy/errors.ts';
import { chainExists, failedLine, iptablesMode, linesAround, MIN_CHAINS_PER_COMMIT, natChainsPerCommit, parseIptablesMode, restoreRules, saveRules } from '../../../../proxy/iptables/apply.ts';
import { FakeRunner } from '../fake-runner.ts';

const payload = '*nat\n:KPLANE-FOO - [0:0]\n-A KPLANE-FOO -d 1.2.3.400 -j ACCEPT\nCOMMIT\n';

describe('restoreRules', () => {
  test('runs one iptables-restore --noflush --counters with the payload on stdin', async () => {
    const runner = new FakeRunner();
    await restoreRules(runner.run, payload);
    expect(runner.calls).toEqual([{ file: 'iptables-restore', args: ['-w', '5', '--noflush', '--counters'], input: payload }]);
  });

  // stderr as iptables-restore v1.8.9 (nf_tables) prints it for a parse error and for a commit error.
  test.each([
    {
      name: 'parse error',
      stderr: "iptables-restore v1.8.9 (nf_tables): host/network `1.2.3.400' not found\nError occurred at line: 3\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n",
      exitCode: 2,
      message: "iptables-restore exited 2 at line 3: host/network `1.2.3.400' not found",
    },
    {
      name: 'commit error',
      stderr: 'iptables-restore v1.8.9 (nf_tables): \nline 3: CHAIN_DEL failed (Device or resource busy): chain KPLANE-FOO\n',
      exitCode: 4,
      message: 'iptables-restore exited 4 at line 3: line 3: CHAIN_DEL failed (Device or resource busy): chain KPLANE-FOO',
    },
  ])('a $name becomes a typed error with the lines around the failing one', async ({ stderr, exitCode, message }) => {
    const runner = new FakeRunner();
    runner.respond(() => ({ exitCode, stdout: '', stderr }));
    const error = await restoreRules(runner.run, payload).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IptablesRestoreError);
    expect(error).toMatchObject({ code: 'KPLANE_IPTABLES_RESTORE', message, line: 3 });
    expect((error as IptablesRestoreError).context).toBe(
      ['      1  *nat', '      2  :KPLANE-FOO - [0:0]', '>     3  -A KPLANE-FOO -d 1.2.3.400 -j ACCEPT', '      4  COMMIT', '      5  '].join('\n'),
    );
  });

  test('a restore that never finished has no line', async () => {
    const runner = new FakeRunner();
    runner.respond(() => ({ exitCode: undefined, stdout: '', stderr: 'timed out' }));
    await expect(restoreRules(runner.run, payload)).rejects.toMatchObject({ message: 'iptables-restore did not finish: timed out', line: undefined, context: '' });
  });
});

describe('helpers', () => {
  test.each([
    ['Error occurred at line: 12\n', 12],
    ['line 7: CHAIN_ADD failed', 7],
    ['iptables-restore: line 9 failed', 9],
    ['Another app is currently holding the xtables lock', undefined],
  ])('failedLine(%j) is %s', (stderr, line) => {
    expect(failedLine(stderr)).toBe(line);
  });

  test('linesAround clamps at the start of the payload', () => {
    expect(linesAround('a\nb\nc', 1, 1)).toBe('>     1  a\n      2  b');
  });
});

describe('saveRules and chainExists', () => {
  test('saveRules returns iptables-save output and fails loudly', async () => {
    const runner = new FakeRunner();
    runner.respond((call) => (call.file === 'iptables-save' ? { exitCode: 0, stdout: '*nat\nCOMMIT\n', stderr: '' } : undefined));
    expect(await saveRules(runner.run)).toBe('*nat\nCOMMIT\n');
    runner.respond(() => ({ exitCode: 1, stdout: '', stderr: 'iptables-save: permission denied\n' }));
    await expect(saveRules(runner.run)).rejects.toBeInstanceOf(ProxyCommandError);
  });

  test.each([
    [0, true],
    [1, false],
  ])('chainExists after iptables exits %i: %s', async (exitCode, exists) => {
    const runner = new FakeRunner();
    runner.respond(() => ({ exitCode, stdout: '', stderr: '' }));
    expect(await chainExists(runner.run, 'mangle', 'KPLANE-PROXY-CANARY')).toBe(exists);
    expect(runner.calls[0]).toEqual({ file: 'iptables', args: ['-w', '5', '-t', 'mangle', '-S', 'KPLANE-PROXY-CANARY'], input: undefined });
  });

  test('chainExists fails when iptables itself fails', async () => {
    const runner = new FakeRunner();
    runner.respond(() => ({ exitCode: 4, stdout: '', stderr: 'iptables: resource problem' }));
    await expect(chainExists(runner.run, 'nat', 'X')).rejects.toBeInstanceOf(ProxyCommandError);
  });
});

describe('iptables mode', () => {
  test.each([
    ['iptables v1.8.9 (nf_tables)\n', 'nft'],
    ['iptables v1.8.9 (legacy)\n', 'legacy'],
    ['iptables v1.4.21\n', 'unknown'],
  ] as const)('%j is %s', (output, mode) => {
    expect(parseIptablesMode(output)).toBe(mode);
  });

  test('asks the host\'s iptables with -V and fails with a typed error when it cannot run', async () => {
    const runner = new FakeRunner();
    runner.respond((call) => (call.file === 'iptables' ? { exitCode: 0, stdout: 'iptables v1.8.9 (nf_tables)\n', stderr: '' } : undefined));
    expect(await iptablesMode(runner.run)).toBe('nft');
    expect(runner.calls).toEqual([{ file: 'iptables', args: ['-V'], input: undefined }]);
    const broken = new FakeRunner();
    broken.respond(() => ({ exitCode: undefined, stdout: '', stderr: 'spawn iptables ENOENT' }));
    await expect(iptablesMode(broken.run)).rejects.toBeInstanceOf(ProxyCommandError);
  });
});

describe('natChainsPerCommit', () => {
  test.each([
    { mode: 'nft', installed: 0, expected: MIN_CHAINS_PER_COMMIT },
    { mode: 'nft', installed: 43_021, expected: 1037 },
    { mode: 'nft', installed: 430_021, expected: 3279 },
    { mode: 'legacy', installed: 430_021, expected: undefined },
    { mode: 'unknown', installed: 430_021, expected: undefined },
  ] as const)('$mode with $installed rules installed: $expected chains per nat commit', ({ mode, installed, expected }) => {
    expect(natChainsPerCommit(mode, installed)).toBe(expected);
  });
});
