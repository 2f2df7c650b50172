/**
 * The connection a pod gets from its service account: the API server's
 * address from the environment Kubernetes injects, the cluster CA and the
 * projected token from the mounted service account directory.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../common/errors.ts';
import type { Connection } from './http-client.ts';

export const serviceAccountDirectory = '/var/run/secrets/kubernetes.io/serviceaccount';

/** True when the environment looks like a pod's: the kubernetes Service address is injected. */
export function isInCluster(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env['KUBERNETES_SERVICE_HOST'] && env['KUBERNETES_SERVICE_PORT']);
}

/** `env` is passed in because only bin/ reads the process environment. */
export function inClusterConnection(env: Readonly<Record<string, string | undefined>>, directory = serviceAccountDirectory): Connection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new UsageError('not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset); pass --server or --kubeconfig');
  const caPath = join(directory, 'ca.crt');
  const tokenFile = join(directory, 'token');
  let ca: Buffer;
  try {
    ca = readFileSync(caPath);
    accessSync(tokenFile, constants.R_OK);
  } catch (error) {
    const { code, path } = error as NodeJS.ErrnoException;
    throw new UsageError(`in-cluster config: cannot read ${path ?? directory} (${code ?? String(error)}); is a service account token mounted?`);
  }
  // An IPv6 service address needs brackets in a URL.
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, ca, tokenFile };
}
