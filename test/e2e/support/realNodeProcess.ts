// A process that starts a control plane and a real node, says "ready" on stdout, and waits to be
// signalled: test/e2e/realNode.test.ts kills it (SIGTERM, SIGKILL) to check that the machine is
// put back on those exit paths too.
import { startControlPlane } from '../../harness/controlPlane';
import { NODE_NAME, startRealNode } from '../../harness/realNode';

async function main(): Promise<void> {
  const cp = await startControlPlane({ users: [], node: { name: NODE_NAME }, quiet: true });
  await startRealNode(cp, { quiet: true });
  process.stdout.write('ready\n');
  // Kept alive until a signal arrives.
  setInterval(() => undefined, 60_000);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
