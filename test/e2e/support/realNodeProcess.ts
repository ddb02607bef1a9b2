// A process that starts a control plane and a real node with one running pod (so containerd has a
// shim to leave behind), says "ready" on stdout, and waits to be signalled:
// test/e2e/realNode.test.ts kills it (SIGTERM, SIGKILL) to check that the machine is put back on
// those exit paths too.
import { startControlPlane, waitFor } from '../../harness/controlPlane';
import { NODE_NAME, startRealNode } from '../../harness/realNode';

const NS = 'exit-paths';

async function main(): Promise<void> {
  const cp = await startControlPlane({ users: [], node: { name: NODE_NAME }, quiet: true });
  const node = await startRealNode(cp, { quiet: true });
  await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
  await cp.admin('POST', `/api/v1/namespaces/${NS}/pods`, {
    metadata: { name: 'sleeper' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'sleeper',
          image: node.images.app,
          imagePullPolicy: 'Never',
          command: ['sleep', '3600'],
        },
      ],
    },
  });
  await waitFor(
    async () => {
      const p = await cp.admin<{ status: { phase?: string } }>(
        'GET',
        `/api/v1/namespaces/${NS}/pods/sleeper`,
      );
      return p.status.phase === 'Running' ? true : undefined;
    },
    { timeoutMs: 60_000, what: `pod ${NS}/sleeper Running\n${node.logTail(20)}` },
  );
  process.stdout.write('ready\n');
  // Kept alive until a signal arrives.
  setInterval(() => undefined, 60_000);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
