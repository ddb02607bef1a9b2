// How Rotor reaches each configured cluster:
//   projects/P/locations/L/clusters/C      GKE: endpoint and CA from the GKE API (or the DNS
//                                          endpoint, which needs no CA), Google access token
//   projects/P/locations/L/memberships/M   Connect Gateway (private clusters), Google access token
//   kubeconfig:PATH[#CONTEXT]              a kubeconfig file (local clusters, tests, the CLI)
// Google tokens are requested with the cloud-platform and userinfo.email scopes, so the API
// server sees the service account's email and RBAC bound to that email matches.
import { KubeConfig } from '@kubernetes/client-node';
import { GoogleAuth } from 'google-auth-library';
import { InputError, TransientError, errorMessage } from '../errors';
import type { ProjectMap } from '../core/secretName';
import type { KubeApi } from './kubeApi';
import { HttpKubeApi } from './kubeApi';
import type { ClusterSpec } from './clusterSpec';

export type { ClusterSpec } from './clusterSpec';
export { parseClusterList, parseClusterSpec } from './clusterSpec';

export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/cloud-platform',
  'https://www.googleapis.com/auth/userinfo.email',
];

/** An OAuth access token for Google APIs and GKE. */
export type TokenSource = () => Promise<string>;

export function googleTokenSource(): TokenSource {
  const auth = new GoogleAuth({ scopes: GOOGLE_SCOPES });
  return async () => {
    const token = await auth.getAccessToken();
    if (!token) throw new TransientError('google-auth-library returned no access token');
    return token;
  };
}

export interface AccessOptions {
  readonly tokens: TokenSource;
  /** `ip` (default: the cluster's endpoint with its CA) or `dns` (the DNS-based endpoint). */
  readonly endpoint?: 'ip' | 'dns';
  /** Base URLs, overridable for tests and private service connect. */
  readonly gkeApi?: string;
  readonly connectGatewayApi?: string;
  readonly resourceManagerApi?: string;
  readonly projects?: ProjectMap;
}

interface GkeCluster {
  endpoint?: string;
  masterAuth?: { clusterCaCertificate?: string };
  controlPlaneEndpointsConfig?: { dnsEndpointConfig?: { endpoint?: string } };
}

async function getJson<T>(url: string, token: string, what: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  } catch (e) {
    throw new TransientError(`${what}: ${(e as Error).message}`, { cause: e });
  }
  const text = await res.text();
  if (!res.ok) {
    const msg = `${what}: HTTP ${res.status}: ${text.slice(0, 300)}`;
    if (res.status === 429 || res.status >= 500) throw new TransientError(msg);
    throw new Error(msg);
  }
  return JSON.parse(text) as T;
}

function kubeConfigFor(name: string, server: string, caData?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Plain http is only ever a local stand-in (tests); there is no TLS to verify then.
    clusters: [{ name, server, ...(caData ? { caData } : {}), skipTLSVerify: server.startsWith('http:') }],
    // The token is supplied per request (HttpKubeApi bearerToken): short-lived and refreshed.
    users: [{ name: 'rotor' }],
    contexts: [{ name, cluster: name, user: 'rotor' }],
    currentContext: name,
  });
  return kc;
}

/** Connects to one cluster. GKE endpoints are looked up once per call; cache the result. */
export async function connectCluster(spec: ClusterSpec, opts: AccessOptions): Promise<KubeApi> {
  switch (spec.kind) {
    case 'kubeconfig': {
      const kc = new KubeConfig();
      try {
        kc.loadFromFile(spec.path);
      } catch (e) {
        throw new InputError(`cannot read kubeconfig: ${errorMessage(e)}`, spec.path);
      }
      if (spec.context) {
        if (!kc.getContextObject(spec.context))
          throw new InputError(`kubeconfig has no context "${spec.context}"`, spec.path);
        kc.setCurrentContext(spec.context);
      }
      return new HttpKubeApi(kc, spec.raw);
    }
    case 'gke': {
      const base = (opts.gkeApi ?? 'https://container.googleapis.com').replace(/\/$/, '');
      const token = await opts.tokens();
      const cluster = await getJson<GkeCluster>(
        `${base}/v1/projects/${spec.project}/locations/${spec.location}/clusters/${spec.name}`,
        token,
        `GKE cluster ${spec.raw}`,
      );
      if (opts.endpoint === 'dns') {
        const dns = cluster.controlPlaneEndpointsConfig?.dnsEndpointConfig?.endpoint;
        if (!dns)
          throw new Error(
            `GKE cluster ${spec.raw} has no DNS endpoint enabled (enable it, or use ROTOR_GKE_ENDPOINT=ip)`,
          );
        // The DNS endpoint is served with a publicly trusted certificate: no cluster CA.
        return new HttpKubeApi(kubeConfigFor(spec.raw, `https://${dns}`), spec.raw, {
          bearerToken: opts.tokens,
        });
      }
      if (!cluster.endpoint) throw new Error(`GKE cluster ${spec.raw} reports no endpoint`);
      return new HttpKubeApi(
        kubeConfigFor(spec.raw, `https://${cluster.endpoint}`, cluster.masterAuth?.clusterCaCertificate),
        spec.raw,
        { bearerToken: opts.tokens },
      );
    }
    case 'membership': {
      // Connect Gateway addresses memberships by project NUMBER.
      let number = opts.projects?.numberOf(spec.project);
      if (!number) {
        const rm = (opts.resourceManagerApi ?? 'https://cloudresourcemanager.googleapis.com').replace(
          /\/$/,
          '',
        );
        const project = await getJson<{ projectNumber?: string }>(
          `${rm}/v1/projects/${spec.project}`,
          await opts.tokens(),
          `project ${spec.project}`,
        );
        number = project.projectNumber;
        if (!number) throw new Error(`project ${spec.project}: Resource Manager returned no projectNumber`);
      }
      const base = (opts.connectGatewayApi ?? 'https://connectgateway.googleapis.com').replace(/\/$/, '');
      const server = `${base}/v1/projects/${number}/locations/${spec.location}/gkeMemberships/${spec.name}`;
      return new HttpKubeApi(kubeConfigFor(spec.raw, server), spec.raw, { bearerToken: opts.tokens });
    }
  }
}
