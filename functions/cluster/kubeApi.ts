// The one door to a Kubernetes API server. Auth and TLS come from @kubernetes/client-node's
// KubeConfig (kubeconfig files, tokens, client certificates, exec plugins); requests go through
// one keep-alive agent so a burst of lists and patches reuses connections. Every request is
// counted (benchmarks report requests per event) and every failure is classified: input-like
// (403/404/422: retrying cannot help) versus transient (network, 429, 5xx, 409 conflicts).
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../core/kube';
import { TransientError, errorMessage } from '../errors';
import { tenantText } from '../core/tenantText';
import { ListItemParser } from './listItems';
import { ProxyPathRefused, confinementProblem, requestUrl } from './podProxy';

export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Absolute API path, e.g. /apis/apps/v1/deployments */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /**
   * Response bodies that are not JSON (pod proxy) come back as text: the first RAW_BODY_LIMIT
   * bytes of it, the rest is never read.
   */
  readonly raw?: boolean;
  /** The whole request, from sending to the last byte of the answer (default 30 s). */
  readonly timeoutMs?: number;
  /**
   * An API path prefix the request must stay under (pod proxy requests: the pod's own
   * podProxyPrefix). Checked on the final URL; a request that would leave it is never sent.
   */
  readonly confinedTo?: string;
  /**
   * A list request's filter: each element of the response's `items` is handed to it as soon as it
   * is parsed, and the body's `items` holds only what it returns (listItems.ts). It may run again
   * for the same items if the request is retried. A KubeApi may ignore it and return every item:
   * the caller filters the returned items again.
   */
  readonly eachItem?: (item: KubeObject) => KubeObject | undefined;
  /**
   * With eachItem: sees each item's bytes before it is parsed, and an item it answers false for is
   * dropped unparsed (listItems.ts). It must answer false only for items eachItem would drop; a
   * KubeApi may ignore it.
   */
  readonly mayKeepItem?: (bytes: Buffer) => boolean;
  /**
   * A watch (`?watch=1`): the answer is the first event the server streams (one JSON line), or
   * `{}` when the stream ends without one; the connection is closed after it. Watches use their
   * own connections, so one held open never delays the requests of a reconcile. `signal` aborts
   * it (the promise rejects). With `accept`, the answer is the first event it accepts (each event
   * parsed and handed to it as it arrives; a line that is not JSON is accepted, for the caller to
   * refuse); a KubeApi may ignore it and answer the first event, so the caller checks again.
   */
  readonly watch?: { readonly signal?: AbortSignal; readonly accept?: (event: unknown) => boolean };
}

export interface KubeApi {
  /** A label for logs and outcomes: the cluster's configured name. */
  readonly cluster: string;
  request<T>(req: KubeRequest): Promise<T>;
  /** Requests sent since creation (for benchmarks and tests). */
  requestCount(): number;
  close(): void;
}

/** The API server answered with an error status. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
  }

  get transient(): boolean {
    return this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 404;
}

export function isConflict(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 409;
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
}

export interface HttpKubeApiOptions {
  readonly timeoutMs?: number;
  /** Overrides the kubeconfig's credentials: a Google access token for GKE / Connect Gateway. */
  readonly bearerToken?: () => Promise<string>;
}

export class HttpKubeApi implements KubeApi {
  private count = 0;
  private agent: http.Agent | undefined;
  /** Watches only: each holds a connection until its first event. */
  private watchAgent: http.Agent | undefined;
  private readonly server: URL;

  constructor(
    private readonly kc: KubeConfig,
    readonly cluster: string,
    private readonly defaults: HttpKubeApiOptions = {},
  ) {
    const c = kc.getCurrentCluster();
    if (!c) throw new Error(`kubeconfig for ${cluster} has no current cluster`);
    this.server = new URL(c.server);
  }

  requestCount(): number {
    return this.count;
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.watchAgent?.destroy();
    this.watchAgent = undefined;
  }

  async request<T>(req: KubeRequest): Promise<T> {
    // Re-applied per request: exec plugins and token files refresh credentials behind this call.
    const opts: https.RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    const secure = this.server.protocol === 'https:';
    this.ensureAgents(opts, secure, req.watch !== undefined);
    const url = this.confinedUrl(req);
    const { headers, payload } = await this.headersAndPayload(req, opts);
    this.count++;
    const answer = await this.send(req, url, secure, headers, payload);
    return answerBody<T>(answer, req, url);
  }

  /** Pooled connections for requests, short-lived ones for watches, over the kubeconfig's TLS. */
  private ensureAgents(opts: https.RequestOptions, secure: boolean, watch: boolean): void {
    if (!this.agent) this.agent = agentFor(opts, secure, { keepAlive: true, maxSockets: 16 });
    if (watch && !this.watchAgent)
      this.watchAgent = agentFor(opts, secure, { keepAlive: false, maxSockets: 64 });
  }

  /** The request's URL; a request confined to a pod's proxy prefix that would leave it is refused unsent. */
  private confinedUrl(req: KubeRequest): URL {
    const url = requestUrl(this.server, req.path);
    if (req.confinedTo !== undefined) {
      const problem = confinementProblem(this.server, req.path, req.confinedTo);
      if (problem)
        throw new ProxyPathRefused(`${req.method} ${req.path} on ${this.cluster} refused: ${problem}`);
    }
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async headersAndPayload(
    req: KubeRequest,
    opts: https.RequestOptions,
  ): Promise<{ headers: Record<string, string>; payload: Buffer | undefined }> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    if (this.defaults.bearerToken) headers.Authorization = `Bearer ${await this.defaults.bearerToken()}`;
    if (req.body === undefined) return { headers, payload: undefined };
    const payload = Buffer.from(typeof req.body === 'string' ? req.body : JSON.stringify(req.body));
    headers['Content-Type'] = req.contentType ?? 'application/json';
    headers['Content-Length'] = String(payload.length);
    return { headers, payload };
  }

  /** One exchange, bounded in time (and in bytes for raw answers); no answer at all is transient. */
  private send(
    req: KubeRequest,
    url: URL,
    secure: boolean,
    headers: Record<string, string>,
    payload: Buffer | undefined,
  ): Promise<Answer> {
    const timeoutMs = req.timeoutMs ?? this.defaults.timeoutMs ?? 30_000;
    return exchange(
      (secure ? https : http).request(url, {
        method: req.method,
        headers,
        agent: req.watch ? this.watchAgent : this.agent,
        ...(req.watch?.signal ? { signal: req.watch.signal } : {}),
      }),
      payload,
      {
        timeoutMs,
        ...(req.watch ? { firstLine: req.watch.accept ?? (() => true) } : {}),
        ...(req.eachItem ? { eachItem: req.eachItem } : {}),
        ...(req.mayKeepItem ? { mayKeepItem: req.mayKeepItem } : {}),
        ...(req.raw ? { maxBytes: RAW_BODY_LIMIT } : {}),
      },
    ).catch((e: unknown) => {
      const what = e instanceof DeadlineExceeded ? '' : 'API server unreachable: ';
      throw new TransientError(`${req.method} ${req.path} on ${this.cluster}: ${what}${errorMessage(e)}`, {
        cause: e,
      });
    });
  }
}

function agentFor(
  opts: https.RequestOptions,
  secure: boolean,
  pool: { keepAlive: boolean; maxSockets: number },
): http.Agent {
  if (!secure) return new http.Agent(pool);
  return new https.Agent({
    ...pool,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert } : {}),
    ...(opts.key ? { key: opts.key } : {}),
    ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
    ...(opts.servername ? { servername: opts.servername } : {}),
  });
}

/** A 2xx answer's body (parsed unless raw); anything else thrown as a KubeApiError. */
function answerBody<T>(answer: Answer, req: KubeRequest, url: URL): T {
  const { status } = answer;
  if ('parsed' in answer) return answer.parsed as T;
  const { body } = answer;
  if (status >= 200 && status < 300) {
    if (req.raw) return body as T;
    return (body ? JSON.parse(body) : {}) as T;
  }
  let parsed: StatusBody;
  try {
    parsed = JSON.parse(body) as StatusBody;
  } catch {
    // A non-JSON error body on a raw request is the pod's own answer (a reload endpoint behind
    // the pod proxy): it may echo application data, so only its status is kept.
    parsed = { message: req.raw ? 'the pod answered with an error (body not logged)' : body.slice(0, 300) };
  }
  // Through the pod proxy even a JSON Status may be the pod's own words: bounded and escaped.
  const text = (v: unknown): string | undefined =>
    typeof v !== 'string' ? undefined : req.raw ? tenantText(v, { limit: 200 }) : v;
  throw new KubeApiError(
    status,
    text(parsed.reason) ?? httpReason(status),
    text(parsed.message) ?? '',
    req.method,
    url.pathname,
  );
}

/**
 * A pod's own answer through the pod proxy (a `raw` request) is read up to this many bytes, enough
 * for any reason worth reporting; the rest is never read (the connection is closed), so a pod that
 * answers hundreds of MiB costs Rotor a few KiB.
 */
export const RAW_BODY_LIMIT = 4096;

type Answer =
  { readonly status: number; readonly body: string } | { readonly status: number; readonly parsed: unknown };

interface ExchangeOptions {
  /** The whole exchange, from sending to the last byte of the answer (not socket idle time). */
  readonly timeoutMs: number;
  readonly eachItem?: (item: KubeObject) => KubeObject | undefined;
  readonly mayKeepItem?: (bytes: Buffer) => boolean;
  /** Keep at most this many bytes of the body and stop reading there. */
  readonly maxBytes?: number;
  /** A watch: the answer is the first line (one event) accepted, or `{}` when the stream ends without one. */
  readonly firstLine?: (event: unknown) => boolean;
}

/** The request is not answered in full within its deadline. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
}

/**
 * Sends `r` and reads its answer, all within `timeoutMs`: a server that trickles its answer a
 * byte at a time is cut off at the deadline like one that never answers. Settles once.
 */
function exchange(r: http.ClientRequest, payload: Buffer | undefined, o: ExchangeOptions): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      f();
    };
    const fail = (e: unknown): void => settle(() => reject(e instanceof Error ? e : new Error(String(e))));
    const done = (a: Answer): void => settle(() => resolve(a));
    const deadline = setTimeout(() => {
      fail(new DeadlineExceeded(`no complete answer within ${o.timeoutMs} ms`));
      r.destroy();
    }, o.timeoutMs);
    r.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.on('error', fail);
      // After the end (or the kept bytes) this is a no-op: the answer is settled.
      res.on('close', () => fail(new Error('the connection closed before the answer ended')));
      if (o.firstLine && status >= 200 && status < 300) readFirstLine(res, status, o.firstLine, done);
      else if (o.eachItem && status >= 200 && status < 300) readItems(res, o, status, done, fail);
      else readBody(res, o.maxBytes, status, done);
    });
    r.on('error', fail);
    if (payload) r.write(payload);
    r.end();
  });
}

/**
 * A watch's first event that `accept` takes (one JSON line, at most 1 MiB kept; the lines it does
 * not take are dropped as they are read); the rest is not read.
 */
function readFirstLine(
  res: http.IncomingMessage,
  status: number,
  accept: (event: unknown) => boolean,
  done: (a: Answer) => void,
): void {
  let text = '';
  res.on('data', (c: Buffer) => {
    text += c.toString('utf8');
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (line.trim() && acceptsLine(line, accept)) {
        done({ status, body: line });
        res.destroy();
        return;
      }
    }
    if (text.length > 1 << 20) {
      done({ status, body: '{}' });
      res.destroy();
    }
  });
  res.on('end', () => done({ status, body: text.trim() && acceptsLine(text, accept) ? text : '{}' }));
}

/** Whether `accept` takes the event on `line`; a line that is not JSON is taken (the caller refuses it). */
function acceptsLine(line: string, accept: (event: unknown) => boolean): boolean {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return true;
  }
  return accept(event);
}

/** A list, parsed item by item as the bytes arrive: only what eachItem keeps is held. */
function readItems(
  res: http.IncomingMessage,
  o: Pick<ExchangeOptions, 'eachItem' | 'mayKeepItem'>,
  status: number,
  done: (a: Answer) => void,
  fail: (e: unknown) => void,
): void {
  const { eachItem } = o;
  const parser = new ListItemParser((item) => eachItem?.(item as KubeObject), o.mayKeepItem);
  res.on('data', (c: Buffer) => {
    try {
      parser.write(c);
    } catch (e) {
      fail(e);
      res.destroy();
    }
  });
  res.on('end', () => {
    try {
      done({ status, parsed: parser.end() });
    } catch (e) {
      fail(e);
    }
  });
}

/** The body as text; with `maxBytes`, only its first bytes, and the rest is not read. */
function readBody(
  res: http.IncomingMessage,
  maxBytes: number | undefined,
  status: number,
  done: (a: Answer) => void,
): void {
  const chunks: Buffer[] = [];
  let kept = 0;
  const finish = (): void => done({ status, body: Buffer.concat(chunks).toString('utf8') });
  res.on('data', (c: Buffer) => {
    if (maxBytes === undefined || kept + c.length <= maxBytes) {
      chunks.push(c);
      kept += c.length;
      return;
    }
    chunks.push(c.subarray(0, maxBytes - kept));
    kept = maxBytes;
    finish();
    res.destroy();
  });
  res.on('end', finish);
}

function httpReason(status: number): string {
  return http.STATUS_CODES[status] ?? 'Error';
}
