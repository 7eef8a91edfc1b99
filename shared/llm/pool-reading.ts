/**
 * What one reading of a vLLM server's /metrics does to an endpoint's in-flight cap. Pure: the
 * pool (pool.ts) fetches the reading and applies the result.
 *
 * * A queue on the server (requests waiting) cuts the cap to our share of its slots: the calls
 *   we hold × running / (running + waiting). Clients sharing a server each take their share,
 *   and the shares add up to its slots; a queue left over from calls sent before an earlier cut
 *   does not cut again, since what we hold still reflects it.
 * * A queue also shows the server's slots (it runs all it can then); without one, running is a
 *   lower bound. The count is forgotten after SLOTS_TTL_MS without a confirming queue, so
 *   capacity added behind the same URL is found again by growing into it.
 * * Room: the slots less what other clients hold. The cap never grows past it, because a
 *   request waiting on one server cannot move to another that frees a slot, and at the end of a
 *   map phase such requests cost a whole extra round.
 * * Idle slots on a server whose slots are known raise the cap by half of them at once (another
 *   client reading the same idle slots takes the other half): replies to calls of equal length
 *   come together, a round trip later, so growing by one per reply would leave them idle.
 * * No queue restarts slow start (fast growth), e.g. after another client stopped calling.
 */

/** How long a learned slot count holds without a reading that confirms it. */
export const SLOTS_TTL_MS = 60_000;

export interface Reading {
  running: number;
  waiting: number;
}

/** The part of an endpoint's state a reading uses and changes. */
export interface ReadingState {
  cap: number;
  max: number;
  inFlight: number;
  slowStart: boolean;
  slots?: number;
  slotsAt: number;
  room: number;
}

/**
 * The state after `load` was read at `now`. `backlog`: callers are waiting for room in this
 * pool (only then is there anything to send to idle slots).
 */
export function afterReading(s: ReadingState, load: Reading, now: number, backlog: boolean): ReadingState {
  let { cap, slowStart, slots, slotsAt } = s;
  if (load.waiting > 0 && load.running > 0) (slots = load.running), (slotsAt = now);
  else if (slots !== undefined && now - slotsAt > SLOTS_TTL_MS) slots = undefined;
  else if (slots !== undefined) slots = Math.max(slots, load.running);
  const others = Math.max(0, load.running + load.waiting - s.inFlight);
  const room = slots === undefined ? Infinity : Math.max(1, slots - others);
  const idle = slots === undefined || load.waiting > 0 ? 0 : slots - load.running;
  if (idle > 0 && backlog) cap = Math.min(s.max, room, Math.max(cap, s.inFlight + Math.ceil(idle / 2)));
  if (load.waiting > 0 && load.running > 0 && s.inFlight > 0) {
    cap = Math.max(1, Math.min(cap, (s.inFlight * load.running) / (load.running + load.waiting)));
    slowStart = false;
  } else if (load.waiting === 0) slowStart = true;
  return { ...s, cap, slowStart, slots, slotsAt, room };
}
