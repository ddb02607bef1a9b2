// Namespace allow and deny lists (ROTOR_NAMESPACES / ROTOR_EXCLUDE_NAMESPACES). Applied to
// cluster-wide lists client-side, so the request count never grows with the number of namespaces.
export interface NamespaceFilter {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

/** `*` and `?` globs, e.g. `team-*`. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export function namespaceMatcher(filter: NamespaceFilter = {}): (namespace: string) => boolean {
  const allow = (filter.allow ?? []).filter(Boolean).map(globToRegExp);
  const deny = (filter.deny ?? []).filter(Boolean).map(globToRegExp);
  return (ns) => (allow.length === 0 || allow.some((r) => r.test(ns))) && !deny.some((r) => r.test(ns));
}

export function parseNamespaceList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
