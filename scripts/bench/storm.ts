// The storm scenario (`npm run bench -- --storm`, issue 11 "Benchmark"): 200 dependents of one
// secret in 4 waves, numbered as the workloads are annotated: `rotor.dev/wave: "1"` .. `"4"`
// (50 each; wave 1 first). On a control plane WITH the kube-controller-manager (ReplicaSets and
// rollout status come from the real controllers) and the kubelet stand-in
// (test/harness/kubelet.ts) making the new revision's pods Ready, Rotor's real handler
// (handleSecretEvent, the function's own: a throw is a nack, a return an ack) runs IN-PROCESS under
// tsx (not the packaged bundle in a Worker like the default bench: the scenario needs the
// recording client to timestamp each restart), as the least-privileged `rotor` user, with the
// default wave config (ROTOR_WAVE_SIZE 10). Two deliveries (`--delivery`):
//   immediate  no delivery budget (one pass a delivery): each delivery acts on what is ready and
//              nacks while waiting, and the bench redelivers after a short poll until acked
//              (Rotor's lower bound under redelivery; not what a deployment does);
//   deployed   as Terraform deploys it (test/harness/deployedDelivery.ts): the in-delivery budget
//              its timeout gives onSecretEvent, continuations published and delivered next, and a
//              nack redelivered only after the fixed retry_backoff_seconds (60 s).
//
//   healthy  a new version: every wave rolls; time from the event to the ack (converged) and to
//            the moment the last wave's Deployments are all Available on the new revision.
//   halt     another new version, whose new revision crashloops in ONE workload of wave 2: time to
//            the `halted` outcome, and which workloads were restarted (must be waves 1–2 only).
//   --dependents N (issue 19 "Targets") N dependents in the 4 waves instead of 200, the healthy
//            event only (no halt, no rollback): the deliveries and attempts it used, and Rotor's
//            overhead over the controllers (from the event to every dependent Available, minus the
//            time some rollout Rotor started was in flight: per step, patch to last Available).
//   rollback (--rollback, issue 22.1) the secret says `rotor-on-halt: rollback`: the halt asks
//            rotateSecret (its handler, in process, on the request onSecretEvent published) to
//            restore version 2's payload as version 4, whose event restarts every workload that
//            applied version 3: time from the halt to every one of them Available again on it.
import type { ControlPlane } from '../../test/harness/controlPlane';
import { applyManifests, installCrds, REPO_ROOT, startControlPlane } from '../../test/harness/controlPlane';
import { podRestartedAt, startKubelet } from '../../test/harness/kubelet';
import { subPathCsiDeployment } from '../../test/harness/workloads';
import { deliverAsDeployed, deliverOnce, redeliverUntilAcked } from '../../test/harness/redelivery';
import { deployedDelivery } from '../../test/harness/deployedDelivery';
import type { Kubelet, StandInPod } from '../../test/harness/kubelet';
import { RecordingApi } from '../../test/harness/recordingApi';
import { join } from 'node:path';
import { kubeApiFromKubeconfig } from '../../functions/cluster/inventory';
import { notificationMessage } from '../../functions/core/event';
import { startConfirmingSecretManager } from '../../test/harness/secretManagerStandIn';
import { loadConfig } from '../../functions/config';
import { createLogger, memoryLogger } from '../../functions/log';
import { KnownEvents } from '../../functions/cluster/events';
import type { EventOutcome } from '../../functions/core/outcome';
import { handleRotationTrigger } from '../../functions/rotation/rotateSecretFunction';
import { defaultStrategies } from '../../functions/rotation/strategies';
import { SecretValue } from '../../functions/secretmanager/secretValue';
import { appliedVersions } from '../../functions/core/discovery';
import type { HaltFigures, LoggedPass, PassSummary, RecordedRestart } from './stormFigures';
import { eventBudgetMs, haltFigures, isAvailable, lastRestartOfWave, passSummary } from './stormFigures';
import { ListWatch } from '../../test/harness/listWatch';

const NS = 'storm';
const WAVES = [1, 2, 3, 4] as const;
const PER_WAVE = 50;
/** Pub/Sub's floor of max_delivery_attempts (budget.tf): a message acked within it never dead-letters. */
const MIN_DELIVERY_ATTEMPTS = 5;
const FAILED_WAVE = 2;
/** The crashlooping workload: in the middle of wave 2. */
const BAD = 'w2-25';
const SECRET = 'projects/bench-proj/secrets/storm-key';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const POLL_MS = 250;
/** The fleet's creation: at least this long, and FLEET_MS_PER_DEPENDENT each (2 000 took 471 s). */
const FLEET_MIN_MS = 600_000;
const FLEET_MS_PER_DEPENDENT = 500;

export type StormDelivery = 'immediate' | 'deployed';

export interface StormFigures {
  readonly delivery: string;
  readonly dependents: number;
  readonly waves: string;
  readonly failedWorkload?: string;
  readonly waveSize: number;
  readonly rotorRuns: string;
  readonly healthy: {
    readonly eventToAckMs: number;
    readonly eventToLastWaveAvailableMs: number;
    readonly restarted: number;
    readonly lastRestartOfWaveMs: Record<string, number | null>;
    readonly deliveries: number;
    /** deployed: continuations published, and the attempts of the message that needed the most. */
    readonly continuations?: number;
    readonly mostAttempts?: number;
    readonly converged: boolean;
    /** Rotor's reconcile passes in the event (its loop's DEBUG lines): what woke them, their cost. */
    readonly passes: PassSummary;
    /** Rotor's requests to the API server in the event (watches included); GETs of Kubernetes Events. */
    readonly requests: { readonly total: number; readonly eventGets: number };
    /** Rotor's overhead over the controllers (see --dependents above), from a watch of the Deployments. */
    readonly overhead: {
      readonly eventToAllAvailableMs: number;
      readonly rollouts: number;
      /** The union of the rollouts' intervals (patch to Available). */
      readonly controllerMs: number;
      readonly rotorMs: number;
      readonly rotorPercent: number;
      /** How each rollout's end was seen (the arrival of its watch event). */
      readonly availableFrom: string;
    };
    /** The most attempts any message needed within Pub/Sub's floor of 5: the dead-letter topic untouched. */
    readonly deadLetterUntouched?: boolean;
  };
  /** Absent with --dependents (the healthy event only). */
  readonly halt?: HaltFigures & {
    readonly haltedWorkloads: string[];
    readonly deliveries: number;
    readonly acked: boolean;
    /** The restarted workloads are all in waves 1–2 and wave 3–4 templates carry no new marker. */
    readonly onlyWaves1And2Restarted: boolean;
  };
  /** --rollback: the halt rolled back (issue 22.1). */
  readonly rollback?: {
    /** The workloads that had applied the bad version (waves 1-2 up to the halt), restored. */
    readonly restored: number;
    readonly haltToRollbackAckMs: number;
    /** From the halted outcome to every one of them Available on the restored version. */
    readonly haltToEveryCanaryAvailableMs: number;
    readonly deliveries: number;
    /** Waves 3-4 still on their healthy revision, and never named restarted by the rollback. */
    readonly laterWavesUntouched: boolean;
  };
}

interface DeploymentView {
  metadata: {
    name: string;
    generation?: number;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

const name = (wave: number, i: number): string => `w${wave}-${String(i).padStart(2, '0')}`;

/** Available on a revision Rotor restarted (the fleet is created without the restart marker). */
const onNewRevision = (d: DeploymentView): boolean =>
  isAvailable(d) && d.spec.template.metadata?.annotations?.[RESTARTED_AT] !== undefined;

/**
 * Rotor's overhead over the controllers for one event: each restart is a rollout from Rotor's
 * patch to that dependent Available on its new revision; the controllers' time is the union of
 * these intervals (ROTOR_WAVE_SIZE is a sliding window, so a step's rollouts overlap the next
 * step's; without overlap this is the sum, per step, of first patch to last rollout Available);
 * Rotor's is the rest of the time from the event to every dependent Available.
 */
function overheadOf(
  restarts: readonly RecordedRestart[],
  availableAtMs: ReadonlyMap<string, number>,
  eventToAllAvailableMs: number,
): Omit<StormFigures['healthy']['overhead'], 'availableFrom'> {
  const rollouts = restarts
    .map((r) => ({ from: r.atMs, to: availableAtMs.get(r.name) ?? eventToAllAvailableMs }))
    .sort((a, b) => a.from - b.from);
  let controllerMs = 0;
  let busy: { from: number; to: number } | undefined;
  for (const r of rollouts) {
    if (busy && r.from <= busy.to) busy.to = Math.max(busy.to, r.to);
    else {
      if (busy) controllerMs += busy.to - busy.from;
      busy = { ...r };
    }
  }
  if (busy) controllerMs += busy.to - busy.from;
  const rotorMs = eventToAllAvailableMs - controllerMs;
  return {
    eventToAllAvailableMs,
    rollouts: rollouts.length,
    controllerMs,
    rotorMs,
    rotorPercent: Math.round((1000 * rotorMs) / eventToAllAvailableMs) / 10,
  };
}

export async function runStorm(
  progress: (line: string) => void,
  delivery: StormDelivery = 'immediate',
  rollback = false,
  dependents?: number,
): Promise<StormFigures> {
  const perWave = dependents === undefined ? PER_WAVE : Math.ceil(dependents / WAVES.length);
  let cp: ControlPlane | undefined;
  let kubelet: Kubelet | undefined;
  let api: RecordingApi | undefined;
  let confirming: Awaited<ReturnType<typeof startConfirmingSecretManager>> | undefined;
  let fleet: ListWatch<DeploymentView> | undefined;
  try {
    progress('storm: starting the local control plane WITH kube-controller-manager');
    cp = await startControlPlane({ users: ['rotor'] });
    const plane = cp;
    const kc = plane.kubeConfig();
    await installCrds(kc);
    await applyManifests(kc, join(REPO_ROOT, 'infra', 'k8s', 'rbac.yaml'));
    await plane.admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    kubelet = await startKubelet(plane, { namespace: NS, pollMs: 200, watch: true });
    const stand = kubelet;
    const recording = new RecordingApi(
      kubeApiFromKubeconfig(plane.kubeconfigPathFor('rotor'), undefined, 'local'),
    );
    api = recording;

    await plane.admin('POST', `/apis/secrets-store.csi.x-k8s.io/v1/namespaces/${NS}/secretproviderclasses`, {
      apiVersion: 'secrets-store.csi.x-k8s.io/v1',
      kind: 'SecretProviderClass',
      metadata: { name: 'storm' },
      spec: {
        provider: 'gke',
        parameters: { secrets: `- resourceName: "${SECRET}/versions/latest"\n  path: "f0.txt"\n` },
      },
    });
    const waveOf = new Map<string, number>();
    for (const wave of WAVES)
      for (let i = 0; i < perWave && waveOf.size < (dependents ?? Infinity); i++) {
        const n = name(wave, i);
        waveOf.set(n, wave);
        await plane.admin(
          'POST',
          `/apis/apps/v1/namespaces/${NS}/deployments`,
          subPathCsiDeployment({
            name: n,
            namespace: NS,
            spc: 'storm',
            replicas: 1,
            annotations: { 'rotor.dev/wave': String(wave) },
          }),
        );
      }
    const deployments = async (): Promise<DeploymentView[]> =>
      (await plane.admin<{ items: DeploymentView[] }>('GET', `/apis/apps/v1/namespaces/${NS}/deployments`))
        .items;
    progress(
      `storm: ${waveOf.size} Deployments created; waiting for them to be Available (kubelet stand-in)`,
    );
    fleet = await ListWatch.start<DeploymentView>(plane, `/apis/apps/v1/namespaces/${NS}/deployments`);
    const watched = fleet;
    await watched.until(
      (current) => current.size === waveOf.size && [...current.values()].every(isAvailable),
      Math.max(FLEET_MIN_MS, waveOf.size * FLEET_MS_PER_DEPENDENT),
      'the storm fleet Available before the events',
    );

    // Every restart Rotor sends, timestamped from the event.
    let eventStart = 0;
    let restarts: RecordedRestart[] = [];
    // Rotor's requests, counted (the recording's own log is emptied: at 2 000 dependents it would
    // hold every request of the run).
    let requestsSent = 0;
    let eventGets = 0;
    recording.beforeRequest = (req) => {
      requestsSent++;
      if (req.method === 'GET' && req.path.includes('/events/')) eventGets++;
      recording.log.length = 0;
      if (req.method === 'PATCH' && JSON.stringify(req.body ?? {}).includes(RESTARTED_AT)) {
        const n = req.path.split('/').pop() ?? '';
        restarts.push({ name: n, wave: waveOf.get(n) ?? -1, atMs: Date.now() - eventStart });
      }
      return Promise.resolve();
    };
    // Only the loop's per-pass figures are kept (every other line is written and dropped, as
    // production writes it to stdout: parsing and holding thousands of lines a pass was the bench's).
    let passLog: LoggedPass[] = [];
    const logger = createLogger({
      minSeverity: 'DEBUG',
      sink: (line) => {
        if (line.includes('"pass":{')) passLog.push((JSON.parse(line) as { pass: LoggedPass }).pass);
      },
    });
    const deployed = deployedDelivery();
    const config = loadConfig(
      delivery === 'deployed' ? { ROTOR_DELIVERY_BUDGET_SECONDS: String(deployed.budgetSeconds) } : {},
    );
    const budgetMs = eventBudgetMs(waveOf.size, config.waves.size);
    // Each dependent's first moment Available on its new revision in the current event, from the watch.
    let availableAtMs = new Map<string, number>();
    watched.listen((d, at) => {
      if (!availableAtMs.has(d.metadata.name) && onNewRevision(d))
        availableAtMs.set(d.metadata.name, at - eventStart);
    });
    const stuck = (messageId: string): string =>
      `storm: event ${messageId} not acked within the bench's budget of ${budgetMs} ms (${Math.ceil(waveOf.size / config.waves.size)} steps): ${restarts.length} restarts sent, ${availableAtMs.size} of ${waveOf.size} Deployments Available on their new revision; kubelet stand-in: ${stand.lastError() || 'no error'}`;
    // As deployed: the instance's cache of the Kubernetes Events it created or found, kept across
    // deliveries (onSecretEvent's environment has one); without it every pass asked the API server
    // again, per finished dependent, for the Event of a restart it had reported itself.
    const knownEvents = new KnownEvents();
    const sm = await startConfirmingSecretManager();
    confirming = sm;
    // --rollback: real payloads (rotateSecret restores one), and the operator's opt-in.
    const requests: string[] = [];
    const secretId = { project: 'bench-proj', secret: 'storm-key' };
    const addValue = async (n: number): Promise<void> => {
      if (rollback) await sm.secretManager.addVersion(secretId, SecretValue.fromString(`storm-value-${n}`));
    };
    if (rollback) {
      await sm.secretManager.createSecret(secretId, { annotations: { 'rotor-on-halt': 'rollback' } });
      await addValue(1);
    }
    const deliverUntilAcked = async (
      version: string,
      messageId: string,
    ): Promise<{
      outcome: EventOutcome;
      deliveries: number;
      ackedAtMs: number;
      continuations?: number;
      mostAttempts?: number;
    }> => {
      const message = notificationMessage({ type: 'SECRET_VERSION_ADD', secret: SECRET, version });
      // Rotor confirms each notification with Secret Manager: the stand-in holds the version.
      sm.announce(message);
      const env = {
        config,
        logger,
        secretManager: sm.secretManager,
        knownEvents,
        clusters: () => Promise.resolve([recording]),
        rollbackRequests: {
          request: (data: string) => Promise.resolve(`request-${requests.push(data)}`),
          close: () => Promise.resolve(),
        },
      };
      const body = { message: { ...message, messageId, publishTime: new Date().toISOString() } };
      if (delivery === 'deployed') {
        const r = await deliverAsDeployed({ body, id: messageId }, env, {
          backoffMs: deployed.retryBackoffSeconds * 1000,
          deadline: eventStart + budgetMs,
          why: () => stuck(messageId),
        });
        return { ...r, ackedAtMs: Date.now() - eventStart };
      }
      const { outcome, deliveries } = await redeliverUntilAcked(() => deliverOnce(body, env), {
        deadline: eventStart + budgetMs,
        pollMs: POLL_MS,
        why: () => stuck(messageId),
      });
      return { outcome, deliveries, ackedAtMs: Date.now() - eventStart };
    };

    // healthy: every wave rolls.
    progress('storm: healthy event (version 2)');
    await addValue(2);
    availableAtMs = new Map();
    passLog = [];
    const requestsBefore = { all: requestsSent, eventGets };
    eventStart = Date.now();
    const healthy = await deliverUntilAcked('2', 'storm-healthy');
    const healthyPasses = passSummary(passLog);
    const healthyRequests = {
      total: requestsSent - requestsBefore.all,
      eventGets: eventGets - requestsBefore.eventGets,
    };
    const lastWave = WAVES[WAVES.length - 1];
    const inLastWave = [...waveOf].filter(([, w]) => w === lastWave).map(([n]) => n);
    await watched.until(
      () => inLastWave.every((n) => availableAtMs.has(n)),
      budgetMs,
      'the last wave Available on its new revision',
    );
    const lastWaveAvailableMs = Math.max(...inLastWave.map((n) => availableAtMs.get(n) ?? 0));
    const healthyRestarts = restarts;
    await watched.until(
      () => availableAtMs.size === waveOf.size,
      budgetMs,
      'every dependent Available on its new revision',
    );
    const overhead = {
      ...overheadOf(healthyRestarts, availableAtMs, Math.max(...availableAtMs.values())),
      availableFrom: 'a watch of the Deployments: the arrival of the event that shows each Available',
    };
    progress(
      `storm: healthy converged=${String(healthy.outcome.converged)} in ${healthy.ackedAtMs} ms, ${healthy.deliveries} deliveries, ${healthyPasses.passes} passes (p50 ${healthyPasses.passMs.p50} ms, woken by ${JSON.stringify(healthyPasses.wokenBy)}, ${healthyPasses.reports} reports); Rotor's overhead ${overhead.rotorMs} ms of ${overhead.eventToAllAvailableMs} ms (${overhead.rotorPercent} %), ${overhead.rollouts} rollouts`,
    );
    const healthyFigures: StormFigures['healthy'] = {
      eventToAckMs: healthy.ackedAtMs,
      eventToLastWaveAvailableMs: lastWaveAvailableMs,
      restarted: healthyRestarts.length,
      lastRestartOfWaveMs: Object.fromEntries(
        WAVES.map((w) => [String(w), lastRestartOfWave(healthyRestarts, w)]),
      ),
      deliveries: healthy.deliveries,
      ...(healthy.continuations !== undefined ? { continuations: healthy.continuations } : {}),
      ...(healthy.mostAttempts !== undefined
        ? {
            mostAttempts: healthy.mostAttempts,
            deadLetterUntouched: healthy.mostAttempts <= MIN_DELIVERY_ATTEMPTS,
          }
        : {}),
      converged: healthy.outcome.converged === true && healthy.outcome.halted === undefined,
      passes: healthyPasses,
      requests: healthyRequests,
      overhead,
    };
    const deliveryLabel =
      delivery === 'deployed'
        ? `as deployed: ${deployed.budgetSeconds} s delivery budget, continuations, ${deployed.retryBackoffSeconds} s backoff`
        : 'immediate redelivery by the harness (one pass a delivery; not what a deployment does)';
    if (dependents !== undefined)
      return {
        delivery: deliveryLabel,
        dependents: waveOf.size,
        waves: `4 waves of up to ${perWave}: rotor.dev/wave "1".."4" (wave 1 first); the healthy event only`,
        waveSize: config.waves.size,
        rotorRuns: 'in-process under tsx (handleSecretEvent), as the rotor user',
        healthy: healthyFigures,
      };

    // halt: the next version breaks BAD's new revision (its old pod keeps serving).
    const markers = new Map(
      (await deployments()).map((d) => [
        d.metadata.name,
        d.spec.template.metadata?.annotations?.[RESTARTED_AT],
      ]),
    );
    const healthyMarker = markers.get(BAD);
    stand.setPolicy((pod: StandInPod) =>
      pod.metadata.labels?.app === BAD && podRestartedAt(pod) !== healthyMarker
        ? { kind: 'crashloop', restartCount: 3 }
        : { kind: 'ready' },
    );
    restarts = [];
    progress(`storm: crashlooping event (version 3; ${BAD} in wave ${FAILED_WAVE} crashloops)`);
    await addValue(3);
    eventStart = Date.now();
    const halted = await deliverUntilAcked('3', 'storm-halt');
    const haltRestarts = restarts;
    const untouchedLater = (await deployments())
      .filter((d) => (waveOf.get(d.metadata.name) ?? 0) > FAILED_WAVE)
      .every((d) => d.spec.template.metadata?.annotations?.[RESTARTED_AT] === markers.get(d.metadata.name));
    const hf = haltFigures(haltRestarts, halted.ackedAtMs, FAILED_WAVE);
    progress(
      `storm: halted in ${halted.ackedAtMs} ms after ${hf.restartedBeforeHalt} restarts, ${halted.deliveries} deliveries`,
    );

    const rolledBack = rollback
      ? await rollBack({
          sm,
          requests,
          markers,
          waveOf,
          halted: halted.outcome,
          progress,
          deployments,
          deliver: deliverUntilAcked,
          kubelet: stand,
          fleet: watched,
        })
      : undefined;

    return {
      ...(rolledBack ? { rollback: rolledBack } : {}),
      delivery: deliveryLabel,
      dependents: waveOf.size,
      waves: `4 waves of ${PER_WAVE}: rotor.dev/wave "1".."4" (wave 1 first)`,
      failedWorkload: `Deployment ${NS}/${BAD} (wave ${FAILED_WAVE})`,
      waveSize: config.waves.size,
      rotorRuns: 'in-process under tsx (handleSecretEvent), as the rotor user',
      healthy: healthyFigures,
      halt: {
        ...hf,
        haltedWorkloads: (halted.outcome.halted ?? []).map((h) => h.workload),
        deliveries: halted.deliveries,
        acked: halted.outcome.converged === true,
        onlyWaves1And2Restarted: hf.onlyWavesUpToFailed && untouchedLater,
      },
    };
  } finally {
    // The watch first: nothing of the bench may still be talking to the control plane it stops.
    await fleet?.stop();
    api?.close();
    await kubelet?.stop();
    await cp?.stop();
    await confirming?.close();
  }
}

/**
 * --rollback, after the halt: the bad revision keeps crashlooping, rotateSecret handles the
 * request onSecretEvent published, and the restored version's event is delivered until acked.
 */
async function rollBack(run: {
  readonly sm: Awaited<ReturnType<typeof startConfirmingSecretManager>>;
  readonly requests: readonly string[];
  readonly markers: ReadonlyMap<string, string | undefined>;
  readonly waveOf: ReadonlyMap<string, number>;
  readonly halted: EventOutcome;
  readonly progress: (line: string) => void;
  readonly deployments: () => Promise<DeploymentView[]>;
  readonly deliver: (
    version: string,
    messageId: string,
  ) => Promise<{ outcome: EventOutcome; deliveries: number }>;
  readonly kubelet: Kubelet;
  readonly fleet: ListWatch<DeploymentView>;
}): Promise<NonNullable<StormFigures['rollback']>> {
  const haltAt = Date.now();
  if (run.halted.onHalt?.response !== 'rolled-back' || run.requests.length !== 1)
    throw new Error(
      `storm: the halt did not ask for a rollback (${run.halted.onHalt?.reason ?? 'no onHalt'})`,
    );
  // The value of version 3 is what breaks BAD: its pods on that revision crashloop, any later one is Ready.
  const onBad = new Map(
    (await run.deployments()).map((d) => [
      d.metadata.name,
      d.spec.template.metadata?.annotations?.[RESTARTED_AT],
    ]),
  );
  const badMarker = onBad.get(BAD);
  run.kubelet.setPolicy((pod: StandInPod) =>
    pod.metadata.labels?.app === BAD && podRestartedAt(pod) === badMarker
      ? { kind: 'crashloop', restartCount: 3 }
      : { kind: 'ready' },
  );
  const appliedBad = (await run.deployments())
    .filter((d) => appliedVersions(d)[SECRET] === '3')
    .map((d) => d.metadata.name);
  await handleRotationTrigger(
    {
      specversion: '1.0',
      id: 'storm-rollback-request',
      source: '//pubsub.googleapis.com/projects/bench-proj/topics/rotor-rotation',
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      data: {
        message: { data: Buffer.from(run.requests[0] ?? '').toString('base64'), messageId: 'request-1' },
      },
    },
    {
      secretManager: run.sm.secretManager,
      strategies: defaultStrategies(),
      logger: memoryLogger(),
      settings: {
        defaults: { graceMs: null, minIntervalMs: 0 },
        lockTtlMs: 900_000,
        concurrency: 1,
        dryRun: false,
      },
    },
  );
  run.progress(
    `storm: rolled back (version 4 restores version 2); ${appliedBad.length} workloads had applied version 3`,
  );
  const restored = await run.deliver('4', 'storm-rollback');
  const haltToRollbackAckMs = Date.now() - haltAt;
  const back = new Set(appliedBad);
  await run.fleet.until(
    (current) =>
      [...back].every((n) => {
        const d = current.get(n);
        return (
          d !== undefined &&
          isAvailable(d) &&
          d.spec.template.metadata?.annotations?.[RESTARTED_AT] !== onBad.get(n)
        );
      }),
    600_000,
    'every workload that applied version 3 Available on version 4',
  );
  const haltToEveryCanaryAvailableMs = Date.now() - haltAt;
  const later = (await run.deployments()).filter((d) => (run.waveOf.get(d.metadata.name) ?? 0) > FAILED_WAVE);
  const laterWavesUntouched =
    later.every(
      (d) => d.spec.template.metadata?.annotations?.[RESTARTED_AT] === run.markers.get(d.metadata.name),
    ) &&
    !restored.outcome.workloads.some(
      (w) => w.result === 'restarted' && (run.waveOf.get(w.name) ?? 0) > FAILED_WAVE,
    );
  run.progress(`storm: every restored workload Available ${haltToEveryCanaryAvailableMs} ms after the halt`);
  return {
    restored: appliedBad.length,
    haltToRollbackAckMs,
    haltToEveryCanaryAvailableMs,
    deliveries: restored.deliveries,
    laterWavesUntouched,
  };
}
