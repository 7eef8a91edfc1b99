/** The job's event log, filled from the SSE stream (stored events first, then live ones). */
import { h, notice } from './dom.ts';
import { readEvents } from './api.ts';

export interface JobEventView {
  ts?: string;
  type: string;
  stage?: string;
  message?: string;
  done?: number;
  total?: number;
  data?: Record<string, unknown>;
}

/** A short line for an event of any type. */
export function describe(e: JobEventView): string {
  if (e.message) return e.message;
  if (e.type === 'tasks.progress' && e.total) return `${e.done ?? 0}/${e.total}`;
  return '';
}

export function eventLog() {
  const list = h('ol', { class: 'events', id: 'event-log' });
  const events: JobEventView[] = [];
  const add = (e: JobEventView) => {
    events.push(e);
    // Progress ticks are many: show the latest tick of a stage in place instead of a new line.
    const last = list.lastElementChild as HTMLElement | null;
    const line = h(
      'li',
      { class: `ev ev-${e.type.replace(/\./g, '-')}`, 'data-type': e.type, 'data-stage': e.stage ?? '' },
      h('time', {}, e.ts ? new Date(e.ts).toLocaleTimeString() : ''),
      h('span', { class: 'ev-type' }, e.type),
      h('span', { class: 'ev-stage' }, e.stage ?? ''),
      h('span', { class: 'ev-msg' }, describe(e)),
    );
    if (e.type === 'tasks.progress' && last?.dataset.type === 'tasks.progress' && last.dataset.stage === (e.stage ?? '')) last.replaceWith(line);
    else list.append(line);
    const box = list.parentElement;
    if (box && box.scrollHeight - box.scrollTop - box.clientHeight < 80) box.scrollTop = box.scrollHeight;
  };
  const element = h('div', { class: 'event-box' }, list);
  return {
    element,
    events,
    /** Follow the stream until it ends (after the job's terminal event) or the page closes. */
    async follow(path: string, signal: AbortSignal, onEvent: (e: JobEventView) => void): Promise<void> {
      try {
        await readEvents(
          path,
          (sse) => {
            let e: JobEventView;
            try {
              e = JSON.parse(sse.data) as JobEventView;
            } catch {
              return; // a comment or keep-alive that carried data we do not know
            }
            if (!e || typeof e.type !== 'string') return;
            add(e);
            onEvent(e);
          },
          signal,
        );
        if (!signal.aborted) element.append(h('p', { class: 'muted', id: 'events-ended' }, 'event stream ended'));
      } catch (err) {
        notice(`events: ${(err as Error).message}`, 'error');
      }
    },
  };
}
