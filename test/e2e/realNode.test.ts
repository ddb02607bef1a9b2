// The real node itself (test/harness/realNode.ts): pods really run on kubelet + containerd + runc,
// serve what they hold, and the machine is left as it was.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyManifests, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import {
  BRIDGE,
  KUBELET_ROOT,
  LOCK_FILE,
  NODE_NAME,
  WORK_DIR,
  kernelSetting,
  machineKernelSetting,
  podProxyGet,
  servingContainerScript,
  sha256Hex,
  startRealNode,
} from '../harness/realNode';
import type { RealNode } from '../harness/realNode';

const NS = 'real-node';

describe('the real node', { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let node: RealNode;
  let ipForwardBefore: string;

  before(async () => {
    ipForwardBefore = kernelSetting('net/ipv4/ip_forward');
    cp = await startControlPlane({ users: ['rotor'], node: { name: NODE_NAME } });
    node = await startRealNode(cp);
    await cp.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
  });

  after(async () => {
    await node?.stop();
    await cp?.stop();
  });

  it('runs a busybox pod that serves, by hash, the env value it was started with; ip_forward stays 0', async () => {
    const value = 'first-value-of-the-token';
    await applyManifests(
      cp.kubeConfig(),
      `
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: ${NS}}
stringData: {TOKEN: ${value}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: ${NS}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: ${node.images.app}
      imagePullPolicy: Never
      command: [sh, -c, ${JSON.stringify(servingContainerScript())}]
      env:
        - name: TOKEN
          valueFrom: {secretKeyRef: {name: token, key: TOKEN}}
      readinessProbe:
        httpGet: {path: /cgi-bin/env?TOKEN, port: 8080}
        periodSeconds: 1
`,
    );
    const pod = await waitFor(
      async () => {
        const p = await cp.admin<{
          spec: { nodeName?: string };
          status: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
        }>('GET', `/api/v1/namespaces/${NS}/pods/app`);
        return p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
      },
      { timeoutMs: 60_000, what: `pod ${NS}/app Ready\n${node.logTail(20)}` },
    );
    assert.equal(pod.spec.nodeName, NODE_NAME, 'the scheduler bound it to the real node');
    assert.match(pod.status.podIP ?? '', /^198\.19\.254\.\d+$/, 'an address of the node bridge');
    const served = await podProxyGet(cp, NS, 'app', 8080, '/cgi-bin/env?TOKEN');
    assert.equal(served.status, 200);
    assert.equal(served.body.trim(), sha256Hex(value));
    assert.equal(kernelSetting('net/ipv4/ip_forward'), '0');
    assert.equal(kernelSetting('net/ipv4/ip_forward'), ipForwardBefore);
  });
});

/** The settings the kubelet changes at start on this machine (real-node notes), and ip_forward. */
const WATCHED = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward'];

function settings(): Record<string, string> {
  return Object.fromEntries(WATCHED.map((s) => [s, kernelSetting(s)]));
}

/** The machine's own values, read when this file loads (from the lock's record if a node runs now). */
const MACHINE_BEFORE = Object.fromEntries(WATCHED.map((s) => [s, machineKernelSetting(s)]));

/**
 * Every process that talks to the node's containerd socket (containerd, its shims: one per pod),
 * read from /proc here rather than through the harness, so a harness that misses one cannot hide it.
 */
function processesOnOurSocket(): string[] {
  const socket = join(WORK_DIR, 'containerd.sock');
  return readdirSync('/proc')
    .filter((e) => /^[0-9]+$/.test(e))
    .flatMap((pid) => {
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        return [];
      }
      return argv.includes(socket) ? [`process ${pid}: ${argv.slice(0, 1).join('')}`] : [];
    });
}

/** What a node leaves behind while it runs: none of it may remain once it is gone. */
function leftovers(): string[] {
  const found: string[] = processesOnOurSocket();
  if (existsSync(LOCK_FILE)) found.push(LOCK_FILE);
  if (existsSync(KUBELET_ROOT)) found.push(KUBELET_ROOT);
  if (existsSync(WORK_DIR)) found.push(WORK_DIR);
  if (existsSync(`/sys/class/net/${BRIDGE}`)) found.push(`bridge ${BRIDGE}`);
  if (existsSync('/sys/fs/cgroup/pids/kubepods')) found.push('cgroup pids/kubepods');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(KUBELET_ROOT) || m.startsWith(WORK_DIR));
  return [...found, ...mounts];
}

/** Starts test/e2e/support/realNodeProcess.ts and resolves once its node is Ready. */
async function nodeProcess(): Promise<{ pid: number; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'support', 'realNodeProcess.ts')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  await new Promise<void>((resolveReady, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) resolveReady();
    });
    void exited.then(() => reject(new Error(`the node process exited before ready:\n${stderr}`)));
  });
  return { pid: child.pid!, exited };
}

describe('the machine is put back on every exit path', { timeout: 300_000 }, () => {
  const before = MACHINE_BEFORE;

  it('stop() (the node of the tests above): every setting restored, nothing left', () => {
    assert.deepEqual(settings(), before);
    assert.deepEqual(leftovers(), []);
  });

  it('the kubelet really changes kernel settings (so restoring them is not vacuous)', async () => {
    const p = await nodeProcess();
    try {
      // vm.overcommit_memory 0 → 1 on this machine (the kubelet's kernel tunables).
      assert.equal(kernelSetting('vm/overcommit_memory'), '1');
      assert.equal(kernelSetting('net/ipv4/ip_forward'), before['net/ipv4/ip_forward']);
      // Its pod has a containerd shim (so "no process on our socket" below is not vacuous).
      assert.ok(
        processesOnOurSocket().some((p) => p.includes('containerd-shim')),
        'the pod of the node process has a shim',
      );
    } finally {
      process.kill(p.pid, 'SIGTERM');
      await p.exited;
    }
  });

  it('SIGTERM of the test process: every setting restored, nothing left', async () => {
    const p = await nodeProcess();
    process.kill(p.pid, 'SIGTERM');
    assert.equal(await p.exited, 'SIGTERM', 'it still dies of the signal');
    assert.deepEqual(settings(), before);
    assert.deepEqual(leftovers(), []);
  });

  it('SIGKILL (nothing can run): the next node start recovers the recorded settings and cleans up', async () => {
    const p = await nodeProcess();
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    assert.ok(existsSync(LOCK_FILE), 'the dead owner left its lock');
    assert.equal(kernelSetting('vm/overcommit_memory'), '1', 'and the changed setting');
    assert.ok(
      processesOnOurSocket().some((p) => p.includes('containerd-shim')),
      "and its pod's shim (re-parented to init, nothing killed it)",
    );
    const cp = await startControlPlane({ users: [], node: { name: NODE_NAME }, quiet: true });
    try {
      const node = await startRealNode(cp, { quiet: true });
      await node.stop();
    } finally {
      await cp.stop();
    }
    assert.deepEqual(settings(), before);
    assert.deepEqual(leftovers(), []);
  });
});
