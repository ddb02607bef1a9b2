// Maintenance windows: when a restart may happen. The operator writes them as text, in
// configuration (ROTOR_RESTART_WINDOWS) or on a namespace (tenants cannot write either):
//
//   Mon-Fri 02:00-05:00 Europe/Berlin; Sat,Sun 00:00-24:00 UTC
//
// One window is: days (Mon..Sun, ranges and lists, `daily` or `*`), a local time span HH:MM-HH:MM
// (the end may be 24:00, or earlier than the start: then it ends on the next day), and an IANA
// time zone (UTC when left out). The days name the day a window STARTS. Local times follow the
// zone's daylight-saving rules the way calendars do (RFC 5545, Temporal's "compatible"): a start
// that falls in the spring-forward gap moves to the first instant after it (02:30 → 03:30), and a
// start in the autumn overlap takes the earlier of the two instants.
//
// Pure: the clock is an argument, and time-zone arithmetic uses only the runtime's Intl data.

/** Sunday = 0 … Saturday = 6, as Date#getUTCDay counts. */
type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export interface RestartWindow {
  readonly days: ReadonlySet<Weekday>;
  /** Minutes after local midnight, 0..1439. */
  readonly startMinute: number;
  /** Minutes after local midnight, 1..1440; at or before the start means the next day. */
  readonly endMinute: number;
  readonly timeZone: string;
  /** The window as the operator wrote it (trimmed), for reasons. */
  readonly text: string;
}

export type RestartWindowsParse =
  | { readonly ok: true; readonly windows: readonly RestartWindow[] }
  | { readonly ok: false; readonly error: string };

/** What the windows say about one instant. */
export type WindowVerdict =
  /** No windows configured: restarts may happen at any time. */
  | { readonly kind: 'unrestricted' }
  | { readonly kind: 'open'; readonly window: string; readonly closesAt: string }
  | { readonly kind: 'closed'; readonly window: string; readonly opensAt: string };

/** Bounds on operator text (configuration is outside input too). */
export const MAX_WINDOWS_TEXT = 1024;
export const MAX_WINDOWS = 16;

const DAY_NAMES: Readonly<Record<string, Weekday>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};
const ALL_DAYS: ReadonlySet<Weekday> = new Set<Weekday>([0, 1, 2, 3, 4, 5, 6]);
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Parses a `;`-separated list of windows; an empty text means no windows (unrestricted). */
export function parseRestartWindows(text: string): RestartWindowsParse {
  if (text.length > MAX_WINDOWS_TEXT) {
    return { ok: false, error: `restart windows: ${text.length} characters, at most ${MAX_WINDOWS_TEXT}` };
  }
  const parts = text
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length > MAX_WINDOWS) {
    return { ok: false, error: `restart windows: ${parts.length} windows, at most ${MAX_WINDOWS}` };
  }
  const windows: RestartWindow[] = [];
  for (const part of parts) {
    const parsed = parseWindow(part);
    if (typeof parsed === 'string')
      return { ok: false, error: `restart window "${part.slice(0, 80)}": ${parsed}` };
    windows.push(parsed);
  }
  return { ok: true, windows };
}

function parseWindow(text: string): RestartWindow | string {
  const words = text.split(/\s+/);
  if (words.length < 2 || words.length > 3) {
    return 'expected "DAYS HH:MM-HH:MM [TIME_ZONE]", for example "Mon-Fri 02:00-05:00 Europe/Berlin"';
  }
  const [dayText, spanText, zoneText = 'UTC'] = words as [string, string, string?];
  const days = parseDays(dayText);
  if (typeof days === 'string') return days;
  const span = parseSpan(spanText);
  if (typeof span === 'string') return span;
  if (!isTimeZone(zoneText))
    return `"${zoneText.slice(0, 40)}" is not an IANA time zone (for example Europe/Berlin or UTC)`;
  return { days, ...span, timeZone: zoneText, text };
}

function parseDays(text: string): ReadonlySet<Weekday> | string {
  const lower = text.toLowerCase();
  if (lower === 'daily' || lower === '*') return ALL_DAYS;
  const days = new Set<Weekday>();
  for (const item of lower.split(',')) {
    const [from, to, extra] = item.split('-');
    const first = from === undefined ? undefined : DAY_NAMES[from];
    const last = to === undefined ? first : DAY_NAMES[to];
    if (first === undefined || last === undefined || extra !== undefined) {
      return `"${item.slice(0, 20)}" is not a day or a day range (Mon, Tue, Wed, Thu, Fri, Sat, Sun; Mon-Fri; Sat,Sun; daily)`;
    }
    // A range may wrap the week: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let d = first; ; d = ((d + 1) % 7) as Weekday) {
      days.add(d);
      if (d === last) break;
    }
  }
  return days;
}

function parseSpan(text: string): { startMinute: number; endMinute: number } | string {
  const m = /^([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})$/.exec(text);
  if (!m) return `"${text.slice(0, 20)}" is not a time span HH:MM-HH:MM (24-hour clock)`;
  const startMinute = Number(m[1]) * 60 + Number(m[2]);
  const endMinute = Number(m[3]) * 60 + Number(m[4]);
  if (Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[4]) > 59 || endMinute > 1440) {
    return `"${text}" has a time outside 00:00-24:00`;
  }
  if (startMinute === endMinute) return `"${text}" is empty (start equals end)`;
  return { startMinute, endMinute };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a restart may happen at `now`, and if not, when the next window opens. With several
 * windows, the one open now (closing last) or, when none is, the one opening first.
 */
export function windowVerdict(windows: readonly RestartWindow[], now: number): WindowVerdict {
  if (windows.length === 0) return { kind: 'unrestricted' };
  const spans = windows.flatMap((w) => spansAround(w, now));
  const open = spans.filter((s) => s.start <= now && now < s.end).sort((a, b) => b.end - a.end)[0];
  if (open) return { kind: 'open', window: open.window.text, closesAt: iso(open.end) };
  const next = spans.filter((s) => s.start > now).sort((a, b) => a.start - b.start)[0];
  // Every window has at least one day a week, so one starts within the next eight days.
  if (!next) throw new Error('unreachable: no restart window starts within a week');
  return { kind: 'closed', window: next.window.text, opensAt: iso(next.start) };
}

interface Span {
  readonly window: RestartWindow;
  readonly start: number;
  readonly end: number;
}

/** The window's occurrences starting from the local day before `now` to eight days after. */
function spansAround(window: RestartWindow, now: number): Span[] {
  const today = localDate(now, window.timeZone);
  const spans: Span[] = [];
  for (let offset = -1; offset <= 8; offset++) {
    const day = today + offset * DAY_MS;
    if (!window.days.has(new Date(day).getUTCDay() as Weekday)) continue;
    const endDay = window.endMinute <= window.startMinute ? day + DAY_MS : day;
    spans.push({
      window,
      start: instantOf(day + window.startMinute * MINUTE_MS, window.timeZone),
      end: instantOf(endDay + window.endMinute * MINUTE_MS, window.timeZone),
    });
  }
  return spans;
}

/** Local midnight of the zone's calendar day at `instant`, as a UTC-based wall-clock number. */
function localDate(instant: number, timeZone: string): number {
  const wall = wallClock(instant, timeZone);
  return wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
}

/** The wall-clock time in `timeZone` at `instant`, expressed as if it were UTC milliseconds. */
function wallClock(instant: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const n = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
}

function offsetAt(instant: number, timeZone: string): number {
  return wallClock(instant, timeZone) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a wall-clock time in `timeZone` denotes ("compatible" disambiguation): in an
 * overlap the earlier instant, in a gap the wall time shifted forward by the gap.
 */
export function instantOf(wall: number, timeZone: string): number {
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const candidates = [wall - before, wall - after].filter((t) => offsetAt(t, timeZone) === wall - t);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function iso(instant: number): string {
  return new Date(instant).toISOString();
}
