/**
 * The real kubectl on the PATH, pointed at a test's API store through its own
 * kubeconfig and discovery cache, so tests never touch the user's config.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeconfigYaml } from '../../../launcher/up-plan.ts';

export interface KubectlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type Kubectl = (args: string[], options?: { input?: string; timeoutMs?: number }) => Promise<KubectlResult>;

export function kubectlFor(server: string, workDir: string): Kubectl {
  const kubeconfig = join(workDir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server));
  return async (args, options = {}) => {
    const result = await execa('kubectl', args, {
      env: { KUBECONFIG: kubeconfig, KUBECACHEDIR: join(workDir, 'kube-cache') },
      input: options.input,
      timeout: options.timeoutMs ?? 30_000,
      reject: false,
    });
    return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
  };
}
