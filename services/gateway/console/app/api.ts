/**
 * Calls to the gateway's /api. The bearer token is asked for when the API answers 401 and kept
 * in the tab's session storage. Live events are read as Server-Sent Events over fetch (so the
 * token rides in a header), resuming from the last event id when the connection drops.
 */
import { h } from './dom.ts';

const TOKEN_KEY = 'llmxmr.apiToken';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

function authHeaders(): Record<string, string> {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { authorization: `Bearer ${t}` } : {};
}

let asking: Promise<void> | null = null;

/** Ask for the token once, however many requests were refused at the same time. */
function askToken(reason: string): Promise<void> {
  asking ??= new Promise<void>((resolve) => {
    const input = h('input', { type: 'password', id: 'token-input', autocomplete: 'off', required: true });
    const form = h(
      'form',
      { method: 'dialog', id: 'token-form' },
      h('h2', {}, 'API token'),
      h('p', {}, reason),
      h('label', {}, 'Token ', input),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Use token')),
    );
    const dialog = h('dialog', { id: 'token-dialog' }, form);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      dialog.close();
      dialog.remove();
      asking = null;
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
  return asking;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { ...authHeaders() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status !== 401) return res;
    const hadToken = !!sessionStorage.getItem(TOKEN_KEY);
    if (hadToken) sessionStorage.removeItem(TOKEN_KEY);
    await askToken(hadToken || attempt > 0 ? 'The token was refused; enter the one the gateway was started with (LLMXMR_HTTP_TOKEN).' : 'This gateway needs a bearer token (LLMXMR_HTTP_TOKEN of the server).');
  }
}

async function failure(res: Response): Promise<ApiError> {
  let body: unknown;
  let message = `${res.status} ${res.statusText}`;
  try {
    body = await res.json();
    const b = body as { error?: unknown; message?: unknown; problems?: unknown };
    const text = typeof b.error === 'string' ? b.error : typeof b.message === 'string' ? b.message : '';
    const problems = Array.isArray(b.problems) ? `: ${b.problems.join('; ')}` : '';
    if (text) message = `${text}${problems}`;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, message, body);
}

export async function apiJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (!res.ok) throw await failure(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export async function apiText(path: string): Promise<string> {
  const res = await send('GET', path);
  if (!res.ok) throw await failure(res);
  return res.text();
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Read an SSE stream until it ends on its own (the job's terminal event) or `signal` aborts;
 * a dropped connection is reopened with Last-Event-ID after `retryMs`.
 */
export async function readEvents(path: string, onEvent: (e: SseEvent) => void, signal: AbortSignal, retryMs = 1500): Promise<void> {
  let lastId: string | undefined;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
      if (lastId) headers['last-event-id'] = lastId;
      const res = await fetch(path, { headers, signal });
      if (res.status === 401) {
        await askToken('This gateway needs a bearer token (LLMXMR_HTTP_TOKEN of the server).');
        continue;
      }
      if (!res.ok || !res.body) throw await failure(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let cur: SseEvent = { data: '' };
      let dataLines: string[] = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return; // the server closed the stream: the job is over
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (dataLines.length) {
              cur.data = dataLines.join('\n');
              if (cur.id) lastId = cur.id;
              onEvent(cur);
            }
            cur = { data: '' };
            dataLines = [];
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') dataLines.push(val);
            else if (field === 'id') cur.id = val;
            else if (field === 'event') cur.event = val;
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}
