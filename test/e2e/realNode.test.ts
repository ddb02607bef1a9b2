// The real node itself (test/harness/realNode.ts): pods really run on kubelet + containerd + runc,
// serve what they hold, and the machine is left as it was.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyManifests, startControlPlane, waitFor } from '../harness/controlPlane';
import type { ControlPlane } from '../harness/controlPlane';
import {
  NODE_NAME,
  kernelSetting,
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
