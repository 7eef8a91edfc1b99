import { describe, expect, it } from 'vitest';
import { afterReading, SLOTS_TTL_MS, type ReadingState } from '../../shared/llm/pool-reading.ts';

const fresh = (over: Partial<ReadingState> = {}): ReadingState => ({ cap: 8, max: 64, inFlight: 8, slowStart: true, slotsAt: 0, room: Infinity, ...over });

describe('a /metrics reading and the endpoint cap', () => {
  it('cuts the cap to our share of a busy server, and the shares of two clients add up to its slots', () => {
    // Two clients hold 10 and 6 calls on an 8-slot server: 8 running, 8 waiting.
    const a = afterReading(fresh({ cap: 10, inFlight: 10 }), { running: 8, waiting: 8 }, 1000, true);
    const b = afterReading(fresh({ cap: 6, inFlight: 6 }), { running: 8, waiting: 8 }, 1000, true);
    expect(a.cap + b.cap).toBeCloseTo(8);
    expect(a.slowStart).toBe(false);
  });

  it('does not cut again for a queue left over from calls sent before the last cut', () => {
    // The cap was already cut to 4, but we still hold the 16 calls sent earlier: our share is unchanged.
    const s = afterReading(fresh({ cap: 4, inFlight: 16 }), { running: 4, waiting: 12 }, 1000, true);
    expect(s.cap).toBe(4);
  });

  it('learns the slots from a queue and keeps the cap within the room other clients leave', () => {
    const s = afterReading(fresh({ cap: 10, inFlight: 6 }), { running: 8, waiting: 2 }, 1000, true);
    expect(s.slots).toBe(8);
    expect(s.room).toBe(4); // 8 slots, others hold 8 + 2 − 6 = 4
  });

  it('raises the cap by half the idle slots of a known server when callers are waiting, never past the room', () => {
    const known = fresh({ cap: 3, inFlight: 3, slots: 8, slotsAt: 1000, slowStart: false });
    const s = afterReading(known, { running: 3, waiting: 0 }, 2000, true);
    expect(s.cap).toBe(3 + 3); // 5 idle: ⌈5 / 2⌉ more
    expect(s.slowStart).toBe(true);
    expect(afterReading(known, { running: 3, waiting: 0 }, 2000, false).cap).toBe(3); // nobody waiting: nothing to send
    // Another client holds 4 of the 8: we may grow to 4, not past it.
    const shared = afterReading({ ...known, cap: 2, inFlight: 2 }, { running: 6, waiting: 0 }, 2000, true);
    expect(shared.cap).toBe(3);
    expect(shared.cap).toBeLessThanOrEqual(shared.room);
  });

  it('forgets the slot count after a minute without a queue, so added capacity can be found', () => {
    const known = fresh({ slots: 8, slotsAt: 0 });
    expect(afterReading(known, { running: 8, waiting: 0 }, SLOTS_TTL_MS - 1, true).slots).toBe(8);
    const later = afterReading(known, { running: 8, waiting: 0 }, SLOTS_TTL_MS + 1, true);
    expect(later.slots).toBeUndefined();
    expect(later.room).toBe(Infinity);
  });

  it('takes running calls without a queue as a lower bound on the slots', () => {
    expect(afterReading(fresh({ slots: 8, slotsAt: 1000 }), { running: 10, waiting: 0 }, 2000, true).slots).toBe(10);
  });
});
