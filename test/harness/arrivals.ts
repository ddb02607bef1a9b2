// Waiting for something to arrive (a log line, a Pub/Sub delivery, a request at a pod) without
// polling: producers call notify() when they record something, waiters re-check their probe then.

export class Arrivals {
  private readonly waiters = new Set<() => void>();

  /** Something arrived (or the producer ended): every waiter re-checks. */
  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first defined result of `probe`, checked now and on every notify().
   * Rejects with `failFast()` as soon as it returns an error (the producer died), or with
   * `onTimeout()` after `timeoutMs`.
   */
  until<T>(
    probe: () => T | undefined,
    timeoutMs: number,
    onTimeout: () => Error,
    failFast?: () => Error | undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = (): void => {
        const found = probe();
        if (found !== undefined) {
          done();
          resolve(found);
          return;
        }
        const fatal = failFast?.();
        if (fatal) {
          done();
          reject(fatal);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(onTimeout());
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}
