// When the External Secrets Operator refreshes an ExternalSecret, as its controller decides it
// (external-secrets v0.16.2, pkg/controllers/externalsecret: shouldRefresh, shouldRefreshPeriodic;
// checked against the real controller in test/e2e/realEso.test.ts). Once an ExternalSecret has
// synced, ESO refreshes it again only when:
//   refreshPolicy Periodic (the default) with refreshInterval > 0: the interval has passed, or its
//     metadata changed (status.syncedResourceVersion is "<generation>-<hash of labels and
//     annotations>", so Rotor's `force-sync` annotation counts);
//   refreshPolicy OnChange: its generation or metadata changed (force-sync counts);
//   refreshPolicy CreatedOnce, or Periodic with refreshInterval 0: never (force-sync included;
//     only a deleted or hand-edited target Secret is rewritten).
// ESO also stamps status.refreshTime with the time the sync *started*, before it reads Secret
// Manager: a refreshTime after the event is a read after the event.
import type { KubeObject } from './kube';
import { isObject, str } from './kube';

/**
 * Why ESO will never refresh this (already synced) ExternalSecret again, so forcing a sync cannot
 * bring a new version into its Secret; undefined when it does refresh. Hostile input is read
 * defensively: an unreadable interval or policy is left to ESO (which rejects it at admission).
 */
export function esoNeverRefreshes(es: KubeObject): string | undefined {
  const spec = isObject(es.spec) ? es.spec : {};
  const policy = str(spec.refreshPolicy);
  if (policy === 'CreatedOnce') return 'refreshPolicy CreatedOnce';
  if (policy !== undefined && policy !== 'Periodic') return undefined;
  const interval = str(spec.refreshInterval);
  // ESO's test is `refreshInterval <= 0`.
  if (interval !== undefined && isNonPositiveGoDuration(interval)) return `refreshInterval ${interval}`;
  return undefined;
}

/** A Go duration (time.ParseDuration syntax: "0", "0s", "0h0m", "-5m") that is zero or negative. */
function isNonPositiveGoDuration(text: string): boolean {
  const sign = text[0] === '-' || text[0] === '+' ? text[0] : '';
  let rest = text.slice(sign.length);
  if (rest === '0') return true;
  const unit = /^([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/;
  if (rest.length === 0) return false;
  let zero = true;
  while (rest.length > 0) {
    const m = unit.exec(rest);
    if (!m) return false;
    if (Number(m[1]) !== 0) zero = false;
    rest = rest.slice(m[0].length);
  }
  return zero || sign === '-';
}
