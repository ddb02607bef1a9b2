// Which kubeconfig a live command uses, as kubectl finds it: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config; the context is --context, else the file's current context. $KUBECONFIG may list
// several files (`a:b`); kubectl merges them, Rotor uses the first that exists.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InputError } from '../errors';

export function kubeconfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag) return flag;
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length > 0) return listed.find((p) => existsSync(p)) ?? listed[0];
  const home = env.HOME ?? env.USERPROFILE;
  if (home && existsSync(join(home, '.kube', 'config'))) return join(home, '.kube', 'config');
  return undefined;
}

/** The kubeconfig of a live command, or a clear InputError naming where it looked. */
export function requireKubeconfig(flag: string | undefined, env: NodeJS.ProcessEnv, instead: string): string {
  const path = kubeconfigPath(flag, env);
  if (path) return path;
  throw new InputError(`no kubeconfig: $KUBECONFIG is unset and ~/.kube/config does not exist; ${instead}`);
}
