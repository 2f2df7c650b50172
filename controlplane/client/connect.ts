/**
 * Turns an agent's connection flags into a Connection: --server alone, a
 * kubeconfig (with --server overriding its address, as kubectl does), or the
 * pod's service account when neither is given and the agent runs in a pod.
 */
import { UsageError } from '../../common/errors.ts';
import { parseServerAddress, type Connection } from './http-client.ts';
import { inClusterConnection, isInCluster } from './in-cluster.ts';
import { loadKubeconfig } from './kubeconfig.ts';

export interface ConnectionFlags {
  server?: string;
  kubeconfig?: string;
  /** A kubeconfig context other than its current-context. */
  context?: string;
}

function checkedServer(server: string): string {
  try {
    parseServerAddress(server);
  } catch (error) {
    throw new UsageError(`--server: ${(error as Error).message}`);
  }
  return server;
}

/** `env` (from bin/) enables the in-cluster fallback; without it a flag is required. */
export function connectionFromFlags(flags: ConnectionFlags, env?: Readonly<Record<string, string | undefined>>): Connection {
  if (flags.kubeconfig) {
    const connection = loadKubeconfig(flags.kubeconfig, flags.context === undefined ? {} : { context: flags.context });
    return flags.server ? { ...connection, server: checkedServer(flags.server) } : connection;
  }
  if (flags.context !== undefined) throw new UsageError('--context needs --kubeconfig');
  if (flags.server) return { server: checkedServer(flags.server) };
  if (env && isInCluster(env)) return inClusterConnection(env);
  throw new UsageError('--server or --kubeconfig is required');
}
