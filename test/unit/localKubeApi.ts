// The shell's real Kubernetes client (HttpKubeApi) pointed at a plain HTTP server a unit test runs on
// loopback: the server answers as the API server would, the test checks what the client makes of it.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeApi } from '../../functions/cluster/kubeApi';

/** Starts `server` on a free loopback port and returns a client of it (`basePath`: e.g. a gateway's prefix). */
export async function kubeApiOn(server: Server, basePath = ''): Promise<HttpKubeApi> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}${basePath}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return new HttpKubeApi(kc, 'c');
}
