/**
 * The harness inside vitest: one cluster per suite file, logs in the output
 * of a failing test, teardown in afterAll, and the promise kept to the
 * machine checked at the end: none of our namespaces left and the root
 * namespace exactly as it was. KEEP_CLUSTER=1 leaves the cluster up instead
 * and prints how to enter it and remove it.
 *
 *   const skip = await e2eSkipReason();
 *   describe.skipIf(skip)(`my feature${skip ? ` (skipped: ${skip})` : ''}`, () => {
 *     const env = useCluster({ nodes: 2, podsPerNode: 2 });
 *     it('…', async () => { const { cluster } = env; … });
 *   });
 *
 * (The harness itself does not import vitest, so `kplane demo` can use it.)
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { apiServerAvailable } from './apiserver.ts';
import { createCluster, type Cluster, type ClusterOptions } from './cluster.ts';
import { HarnessError, listNetns, netnsSupport } from './netns.ts';
import { diffSnapshots, snapshotRootNetwork, type RootSnapshot } from './root-snapshot.ts';

/** KEEP_CLUSTER=1 (or true/yes): leave clusters running after the suite. */
export function keepClusterFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return /^(1|true|yes)$/i.test(env['KEEP_CLUSTER'] ?? '');
}

/** Why e2e suites cannot run here (not root, no `ip`), or undefined when they can. */
export async function e2eSkipReason(options: { needsApiServer?: boolean } = {}): Promise<string | undefined> {
  const support = await netnsSupport();
  if (!support.ok) return support.reason;
  if (options.needsApiServer && !(await apiServerAvailable())) return '`bin/kplane apiserver` is not available yet';
  return undefined;
}

export interface ClusterFixture {
  /** The suite's cluster (throws before beforeAll has built it). */
  readonly cluster: Cluster;
  /** The root namespace as it was before the cluster was built. */
  readonly rootBefore: RootSnapshot | undefined;
}

/** Our namespaces still present, for the end-of-suite check. */
export function leftoverNamespaces(prefix: string): string[] {
  return listNetns().filter((name) => name.startsWith(prefix));
}

/**
 * Builds a cluster in beforeAll, prints its logs when a test fails, tears it
 * down in afterAll and then asserts that nothing of it is left and the root
 * namespace is unchanged (skipped with KEEP_CLUSTER=1).
 */
export function useCluster(options: ClusterOptions = {}): ClusterFixture {
  let cluster: Cluster | undefined;
  let rootBefore: RootSnapshot | undefined;
  const keep = options.keep ?? keepClusterFromEnv();

  beforeAll(async () => {
    rootBefore = await snapshotRootNetwork();
    cluster = await createCluster({ ...options, keep });
  });

  beforeEach((context) => {
    context.onTestFailed(() => {
      if (cluster) process.stderr.write(`\n--- logs of cluster ${cluster.prefix} (test "${context.task.name}" failed) ---\n${cluster.logs()}\n`);
    });
  });

  afterAll(async () => {
    if (!cluster) return;
    const { prefix } = cluster;
    await cluster.destroy();
    if (keep) return;
    const left = leftoverNamespaces(prefix);
    if (left.length > 0) throw new HarnessError(`namespaces left behind: ${left.join(', ')}`);
    if (rootBefore) {
      const diff = diffSnapshots(rootBefore, await snapshotRootNetwork());
      if (diff.length > 0) throw new HarnessError(`the root network namespace changed during the suite:\n${diff.join('\n')}`);
    }
  });

  return {
    get cluster() {
      if (!cluster) throw new HarnessError('the cluster is not built yet (use it inside tests, after beforeAll)');
      return cluster;
    },
    get rootBefore() {
      return rootBefore;
    },
  };
}
