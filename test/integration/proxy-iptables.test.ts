/**
 * The iptables edge against the real kernel, inside one network namespace
 * this suite creates (and removes in afterAll, on signal and on exit, using
 * the e2e harness's ownership records so parallel runs never touch each
 * other). Nothing here runs in the root namespace: every iptables,
 * iptables-restore, iptables-save and conntrack call goes through
 * `ip netns exec <our namespace>`.
 */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../common/logger.ts';
import type { EndpointSlice, Service } from '../../controlplane/api/types.ts';
import { cleanup } from '../../proxy/cleanup.ts';
import { deleteEntries } from '../../proxy/conntrack.ts';
import type { CommandRunner } from '../../proxy/exec.ts';
import { ProxyHealth } from '../../proxy/health.ts';
import { restoreRules, saveRules } from '../../proxy/iptables/apply.ts';
import { parseIptables, ruleTarget, type ParsedTable } from '../../proxy/iptables/parse.ts';
import { jumpRules, renderRules } from '../../proxy/iptables/render.ts';
import { ProxyMetrics } from '../../proxy/metrics.ts';
import { Proxier } from '../../proxy/proxier.ts';
import { trackRun, untrackRun, type LiveRun } from '../e2e/harness/lifecycle.ts';
import { execIn, ipBatch, listNetns } from '../e2e/harness/netns.ts';
import { kplaneBin, runDirOf } from '../e2e/harness/paths.ts';
import { netnsBatch } from '../e2e/harness/plan.ts';
import { removeRun, sweep, writeOwner } from '../e2e/harness/sweep.ts';
import { e2eSkipReason } from '../e2e/harness/vitest.ts';
import { CLUSTER_CIDR, endpoint, makeSlice, NODE_NAME } from '../unit/proxy/builders.ts';
import { overallServices, overallSlices, scenarioNamed } from '../unit/proxy/iptables/scenarios.ts';

const skip = await e2eSkipReason();

/** KPLANE chains and their rule counts, plus the jumps into them from other chains, per table. */
function kplaneState(saved: string): Record<string, { chains: Record<string, number>; jumps: string[] }> {
  const state: Record<string, { chains: Record<string, number>; jumps: string[] }> = {};
  for (const table of parseIptables(saved).values()) {
    const chains: Record<string, number> = {};
    for (const chain of table.chains.keys()) if (chain.startsWith('KPLANE-')) chains[chain] = rulesIn(table, chain);
    const jumps = table.rules.filter((rule) => !rule.chain.startsWith('KPLANE-') && ruleTarget(rule)?.startsWith('KPLANE-')).map((rule) => `${rule.chain} -> ${ruleTarget(rule)}`);
    if (Object.keys(chains).length > 0 || jumps.length > 0) state[table.name] = { chains, jumps: jumps.sort() };
  }
  return state;
}

function rulesIn(table: ParsedTable, chain: string): number {
  return table.rules.filter((rule) => rule.chain === chain).length;
}

/** iptables-save without its timestamps and counters, for before/after comparisons. */
function stable(saved: string): string {
  return saved
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/, '[0:0]'))
    .join('\n');
}

describe.skipIf(skip)(`iptables edge in a network namespace${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const prefix = `kpt${randomBytes(3).toString('hex')}-`;
  const netns = `${prefix}proxy-it`;
  const live: LiveRun = { prefix, namespaces: () => [netns], keep: () => false };
  const run: CommandRunner = async (file, args, options = {}) => {
    const result = await execIn(netns, [file, ...args], { timeoutMs: 30_000, ...(options.input === undefined ? {} : { input: options.input }) });
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  };
  const save = () => saveRules(run);

  beforeAll(async () => {
    await sweep();
    mkdirSync(runDirOf(prefix), { recursive: true });
    writeOwner(prefix);
    trackRun(live);
    await ipBatch(null, netnsBatch('add', [netns]), prefix);
  });

  afterAll(async () => {
    await removeRun(prefix, [netns]);
    untrackRun(live);
    expect(listNetns().filter((name) => name.startsWith(prefix))).toEqual([]);
  });

  test('a rendered full sync applies, and iptables-save reads back every chain, rule and jump', async () => {
    const scenario = scenarioNamed('overall');
    const rendered = renderRules(scenario.input, scenario.options);
    await restoreRules(run, rendered.text);
    const expected = kplaneState(rendered.text.replaceAll('\n-I ', '\n-A '));
    expect(kplaneState(await save())).toEqual(expected);
    expect(Object.values(expected).flatMap((table) => table.jumps)).toHaveLength(jumpRules.length);
    await cleanup(run);
  });

  describe('the Proxier with the real iptables', () => {
    let now = 0;
    let breakNat = false;
    // While breakNat is set, payloads get a bad line at the end of their nat table, after filter's COMMIT.
    const maybeBroken: CommandRunner = (file, args, options = {}) =>
      run(file, args, breakNat && file === 'iptables-restore' && options.input?.includes('*nat') ? { input: options.input.replace(/COMMIT\n$/, '-A KPLANE-SERVICES -d 10.0.0.300 -j ACCEPT\nCOMMIT\n') } : options);
    const metrics = new ProxyMetrics();
    const proxier = new Proxier(
      { nodeName: NODE_NAME, clusterCidr: CLUSTER_CIDR, nodePortCidrs: [], masqueradeMark: '0x4000', fullSyncPeriodMs: 3_600_000, canaryCheckPeriodMs: 30_000 },
      { run: maybeBroken, metrics, health: new ProxyHealth({ healthTimeoutMs: 60_000 }), logger: silentLogger(), interfaces: () => [], now: () => now },
    );
    const svc1Slice = (ip: string): EndpointSlice =>
      makeSlice('ns1', 'svc1', 'a', (s) => {
        s.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
        s.endpoints = [endpoint(ip)];
      });

    test('the first sync creates everything; a second full sync adds no duplicate jump', async () => {
      for (const service of overallServices) proxier.updateService(undefined, service);
      for (const slice of overallSlices) proxier.updateEndpointSlice(undefined, slice);
      expect(await proxier.sync('change')).toBe(true);
      const first = kplaneState(await save());
      expect(first['filter']?.jumps).toHaveLength(jumpRules.filter((jump) => jump.table === 'filter').length);
      expect(Object.keys(first['mangle']?.chains ?? {})).toEqual(['KPLANE-PROXY-CANARY']);
      now += 3_600_000;
      expect(await proxier.sync('change')).toBe(true);
      expect(kplaneState(await save())).toEqual(first);
    });

    test('a partial sync swaps a changed endpoint chain and leaves other services untouched', async () => {
      const before = kplaneState(await save());
      proxier.updateEndpointSlice(svc1Slice('10.180.0.1'), svc1Slice('10.180.0.7'));
      expect(await proxier.sync('change')).toBe(true);
      const after = kplaneState(await save());
      const gone = Object.keys(before['nat']?.chains ?? {}).filter((chain) => !(chain in (after['nat']?.chains ?? {})));
      const added = Object.keys(after['nat']?.chains ?? {}).filter((chain) => !(chain in (before['nat']?.chains ?? {})));
      expect(gone).toEqual(['KPLANE-SEP-SXIVWICOYRO3J4NJ']);
      expect(added).toHaveLength(1);
      expect(added[0]).toMatch(/^KPLANE-SEP-/);
      // svc4's chains were not in the payload and are exactly as they were.
      for (const chain of ['KPLANE-SVC-4SW47YFZTEDKD3PK', 'KPLANE-EXT-4SW47YFZTEDKD3PK', 'KPLANE-SEP-UKSFD7AGPMPPLUHC']) {
        expect(after['nat']?.chains[chain], chain).toBe(before['nat']?.chains[chain]);
      }
      expect(await save()).toContain('--to-destination 10.180.0.7:80');
    });

    test('deleting a service deletes its chains', async () => {
      proxier.updateService(overallServices[3] as Service, undefined);
      expect(await proxier.sync('change')).toBe(true);
      const nat = kplaneState(await save())['nat']?.chains ?? {};
      expect(Object.keys(nat).filter((chain) => chain.endsWith('4SW47YFZTEDKD3PK') || chain === 'KPLANE-SEP-UKSFD7AGPMPPLUHC' || chain === 'KPLANE-SEP-C6EBXVWJJZMIWKLZ')).toEqual([]);
    });

    test('a failed restore leaves the kernel exactly as it was, and the next sync recovers', async () => {
      const before = stable(await save());
      proxier.updateService(undefined, overallServices[3] as Service);
      breakNat = true;
      expect(await proxier.sync('change')).toBe(false);
      // The filter table had been committed before nat failed; the proxier put the last good one back.
      expect(stable(await save())).toBe(before);
      expect((await metrics.restoreFailures.get()).values[0]?.value).toBe(1);
      breakNat = false;
      expect(await proxier.sync('retry')).toBe(true);
      expect(kplaneState(await save())['nat']?.chains).toHaveProperty('KPLANE-SVC-4SW47YFZTEDKD3PK');
    });

    test('the next sync after the check period puts back a canary someone removed, with a full sync', async () => {
      const result = await run('iptables', ['-t', 'mangle', '-X', 'KPLANE-PROXY-CANARY']);
      expect(result.exitCode).toBe(0);
      expect(kplaneState(await save())['mangle']).toBeUndefined();
      now += 30_000;
      expect(await proxier.sync('periodic')).toBe(true);
      expect(Object.keys(kplaneState(await save())['mangle']?.chains ?? {})).toEqual(['KPLANE-PROXY-CANARY']);
    });

    test('the conntrack deletions the proxy plans are accepted by the real conntrack', async () => {
      const outcome = await deleteEntries(run, [
        ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dst-nat', '10.180.0.1'],
        ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.180.0.1'],
        ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10'],
      ]);
      expect(outcome).toEqual({ deleted: 0, failures: [] });
    });
  });

  test('kplane proxy --cleanup removes every kplane chain and jump, leaving other rules alone', async () => {
    await restoreRules(run, '*filter\n:OTHER - [0:0]\n-A INPUT -j OTHER\nCOMMIT\n');
    expect(Object.keys(kplaneState(await save()))).toEqual(['mangle', 'filter', 'nat']);
    const result = await execIn(netns, [kplaneBin, 'proxy', '--cleanup'], { timeoutMs: 30_000, env: { KPLANE_LOG_FORMAT: 'json' } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('"msg":"removed kplane rules"');
    const saved = await save();
    expect(saved.toLowerCase()).not.toContain('kplane');
    expect(saved).toContain('-A INPUT -j OTHER');
  });
});
