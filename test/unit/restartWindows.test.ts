// Maintenance windows: parsing and the arithmetic of "open now / opens at", with time zones and
// daylight saving. Every expected instant is worked out by hand in the comment beside it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RestartWindow, WindowVerdict } from '../../functions/core/restartWindows';
import { parseRestartWindows, windowVerdict } from '../../functions/core/restartWindows';

function windows(text: string): readonly RestartWindow[] {
  const parsed = parseRestartWindows(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.windows;
}
const at = (text: string, iso: string): WindowVerdict => windowVerdict(windows(text), Date.parse(iso));

describe('restart windows: parsing', () => {
  it('reads days, a span and a zone, and defaults the zone to UTC', () => {
    const [berlin, utc] = windows('Mon-Fri 02:00-05:00 Europe/Berlin; Sat,Sun 00:00-24:00');
    assert.deepEqual([...(berlin?.days ?? [])].sort(), [1, 2, 3, 4, 5]);
    assert.equal(berlin?.startMinute, 120);
    assert.equal(berlin?.endMinute, 300);
    assert.equal(berlin?.timeZone, 'Europe/Berlin');
    assert.deepEqual([...(utc?.days ?? [])].sort(), [0, 6]);
    assert.equal(utc?.endMinute, 1440);
    assert.equal(utc?.timeZone, 'UTC');
  });

  it('a day range wraps the week, and daily is every day', () => {
    assert.deepEqual([...(windows('Fri-Mon 01:00-02:00')[0]?.days ?? [])].sort(), [0, 1, 5, 6]);
    assert.equal(windows('daily 01:00-02:00')[0]?.days.size, 7);
    assert.equal(windows('* 01:00-02:00')[0]?.days.size, 7);
  });

  it('no text means no windows', () => {
    assert.deepEqual(parseRestartWindows(''), { ok: true, windows: [] });
    assert.deepEqual(parseRestartWindows(' ; '), { ok: true, windows: [] });
  });

  const refused: Array<[string, RegExp]> = [
    ['Funday 02:00-05:00', /"funday" is not a day/],
    ['Mon 2:00-05:00', /"2:00-05:00" is not a time span HH:MM-HH:MM/],
    ['Mon 02:00-05:00 Mars/Olympus', /"Mars\/Olympus" is not an IANA time zone/],
    ['Mon 05:00-05:00', /is empty \(start equals end\)/],
    ['Mon 24:00-02:00', /outside 00:00-24:00/],
    ['Mon 01:00-24:30', /outside 00:00-24:00/],
    ['Mon 01:60-02:00', /outside 00:00-24:00/],
    ['Mon-Fri', /expected "DAYS HH:MM-HH:MM \[TIME_ZONE\]"/],
    ['Mon 01:00-02:00 UTC extra', /expected "DAYS/],
    ['Mon-Tue-Wed 01:00-02:00', /"mon-tue-wed" is not a day/],
  ];
  for (const [text, error] of refused) {
    it(`refuses "${text}" with a clear error`, () => {
      const parsed = parseRestartWindows(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) {
        assert.match(parsed.error, error);
        assert.ok(parsed.error.startsWith('restart window'), parsed.error);
      }
    });
  }

  it('bounds the text and the number of windows', () => {
    const seventeen = Array.from({ length: 17 }, () => 'Mon 01:00-02:00').join(';');
    assert.deepEqual(parseRestartWindows(seventeen), {
      ok: false,
      error: 'restart windows: 17 windows, at most 16',
    });
    assert.deepEqual(parseRestartWindows('x'.repeat(1025)), {
      ok: false,
      error: 'restart windows: 1025 characters, at most 1024',
    });
  });
});

describe('restart windows: open or closed at an instant', () => {
  const weekdays = 'Mon-Fri 02:00-05:00 Europe/Berlin';

  it('no windows: unrestricted', () => {
    assert.deepEqual(windowVerdict([], Date.parse('2026-12-07T12:00:00Z')), { kind: 'unrestricted' });
  });

  it('Monday 13:00 in Berlin (CET, UTC+1): closed until Tuesday 02:00 CET = 01:00Z', () => {
    assert.deepEqual(at(weekdays, '2026-12-07T12:00:00Z'), {
      kind: 'closed',
      window: weekdays,
      opensAt: '2026-12-08T01:00:00.000Z',
    });
  });

  it('Tuesday 03:00 CET: open until 05:00 CET = 04:00Z', () => {
    assert.deepEqual(at(weekdays, '2026-12-08T02:00:00Z'), {
      kind: 'open',
      window: weekdays,
      closesAt: '2026-12-08T04:00:00.000Z',
    });
  });

  it('the window opens at its first instant and is closed at its last', () => {
    assert.equal(at(weekdays, '2026-12-08T01:00:00Z').kind, 'open');
    assert.deepEqual(at(weekdays, '2026-12-08T04:00:00Z'), {
      kind: 'closed',
      window: weekdays,
      opensAt: '2026-12-09T01:00:00.000Z',
    });
  });

  it('Friday afternoon: the next window is Monday 02:00 CET', () => {
    assert.deepEqual(at(weekdays, '2026-12-11T15:00:00Z'), {
      kind: 'closed',
      window: weekdays,
      opensAt: '2026-12-14T01:00:00.000Z',
    });
  });

  it('Sunday 2027-03-28, spring forward in Berlin: 02:00 does not exist, the window opens at 03:00 CEST = 01:00Z', () => {
    const sunday = 'Sun 02:00-05:00 Europe/Berlin';
    assert.deepEqual(at(sunday, '2027-03-28T00:30:00Z'), {
      kind: 'closed',
      window: sunday,
      opensAt: '2027-03-28T01:00:00.000Z',
    });
    // 05:00 CEST = 03:00Z: two hours of window that day.
    assert.deepEqual(at(sunday, '2027-03-28T02:59:00Z'), {
      kind: 'open',
      window: sunday,
      closesAt: '2027-03-28T03:00:00.000Z',
    });
  });

  it('Sunday 2026-10-25, fall back in Berlin: 02:00 happens twice, the window opens at the first (00:00Z) and closes at 05:00 CET = 04:00Z', () => {
    const sunday = 'Sun 02:00-05:00 Europe/Berlin';
    assert.deepEqual(at(sunday, '2026-10-24T23:00:00Z'), {
      kind: 'closed',
      window: sunday,
      opensAt: '2026-10-25T00:00:00.000Z',
    });
    assert.deepEqual(at(sunday, '2026-10-25T03:30:00Z'), {
      kind: 'open',
      window: sunday,
      closesAt: '2026-10-25T04:00:00.000Z',
    });
  });

  it('New York on 2027-03-14 (EST → EDT at 02:00): 01:00-04:00 local is 06:00Z to 08:00Z', () => {
    const ny = 'Sun 01:00-04:00 America/New_York';
    assert.deepEqual(at(ny, '2027-03-14T05:00:00Z'), {
      kind: 'closed',
      window: ny,
      opensAt: '2027-03-14T06:00:00.000Z',
    });
    assert.deepEqual(at(ny, '2027-03-14T07:00:00Z'), {
      kind: 'open',
      window: ny,
      closesAt: '2027-03-14T08:00:00.000Z',
    });
  });

  it('a window past midnight belongs to the day it starts: Friday 22:00 to Saturday 02:00', () => {
    const night = 'Fri 22:00-02:00 UTC';
    assert.deepEqual(at(night, '2026-12-12T01:00:00Z'), {
      kind: 'open',
      window: night,
      closesAt: '2026-12-12T02:00:00.000Z',
    });
    // Saturday 23:00 is not in it: Saturday starts no window.
    assert.deepEqual(at(night, '2026-12-12T23:00:00Z'), {
      kind: 'closed',
      window: night,
      opensAt: '2026-12-18T22:00:00.000Z',
    });
  });

  it('a window in a zone east of UTC whose local day differs from the UTC day', () => {
    // Tokyo is UTC+9 (no DST): Tuesday 08:00 JST is Monday 23:00Z.
    const tokyo = 'Tue 08:00-09:00 Asia/Tokyo';
    assert.deepEqual(at(tokyo, '2026-12-07T23:30:00Z'), {
      kind: 'open',
      window: tokyo,
      closesAt: '2026-12-08T00:00:00.000Z',
    });
  });

  it('several windows: the open one that closes last, or else the one that opens first', () => {
    const text = 'Mon 00:00-24:00 UTC; Mon 12:00-02:00 UTC; Wed 01:00-02:00 UTC';
    assert.deepEqual(at(text, '2026-12-07T13:00:00Z'), {
      kind: 'open',
      window: 'Mon 12:00-02:00 UTC',
      closesAt: '2026-12-08T02:00:00.000Z',
    });
    assert.deepEqual(at(text, '2026-12-08T03:00:00Z'), {
      kind: 'closed',
      window: 'Wed 01:00-02:00 UTC',
      opensAt: '2026-12-09T01:00:00.000Z',
    });
  });
});
