/**
 * A job's page: state and usage, per-stage progress bars with counts and ETA, failures and
 * repairs, the refinement's entropy chart, the outline editor while the job waits for a review,
 * the rendered result, and the live event log (SSE).
 */
import { h, fill, notice } from './dom.ts';
import { apiJson, ApiError } from './api.ts';
import { formatCount, formatDollars, formatMs, formatTime, stagePercent, wallMs, TERMINAL_STATES, type StageView } from '../lib/format.ts';
import { blockChartSvg, scoresFromApi, scoresFromEvents } from '../lib/refinement.ts';
import { stateBadge, tokensOf, type JobRow } from './jobs-page.ts';
import { eventLog, type JobEventView } from './event-log.ts';
import { resultView } from './result-view.ts';
import { outlineEditor, isPaused } from './outline-editor.ts';
import type { Page } from './main.ts';

export interface JobDetail extends JobRow {
  error?: string;
  stages?: StageView[];
  failures?: { stage?: string; message?: string; taskId?: string; ts?: string }[];
  repairs?: number;
  refinement?: unknown;
  cancelRequested?: boolean;
}


function stageRow(s: StageView): HTMLElement {
  const pct = stagePercent(s);
  const counts = s.total ? `${s.done}/${s.total}` : s.state;
  const eta = s.etaMs && pct < 100 ? `ETA ${formatMs(s.etaMs)}` : '';
  return h(
    'div',
    { class: `stage state-${s.state}`, 'data-stage': s.name, 'data-state': s.state, 'data-done': s.done, 'data-total': s.total },
    h('span', { class: 'stage-name' }, s.name),
    h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, 'aria-label': `${s.name} progress` }, h('div', { class: 'fill', style: `width:${pct}%` })),
    h('span', { class: 'stage-counts' }, counts),
    h('span', { class: 'stage-eta muted' }, eta),
  );
}

export const jobPage: Page = (root, { id }) => {
  const enc = encodeURIComponent(id);
  const aborter = new AbortController();
  const title = h('h1', {}, id, ' ');
  const meta = h('dl', { class: 'meta' });
  const errorLine = h('p', { class: 'error', hidden: true });
  const cancel = h('button', { id: 'cancel-job', hidden: true }, 'Cancel');
  const rerun = h('button', { id: 'edit-rerun', hidden: true, title: 'edit the outline of this survey and rerun only what the edit touches' }, 'Edit outline and rerun…');
  const stages = h('div', { id: 'stages', class: 'stages' }, h('p', { class: 'muted' }, 'waiting for the first stage…'));
  const failures = h('div', { id: 'failures' });
  const chart = h('section', { class: 'card', id: 'refinement', hidden: true });
  const outline = h('section', { class: 'card', id: 'outline', hidden: true });
  const result = h('section', { class: 'card', id: 'result', hidden: true });
  const log = eventLog();
  root.append(
    h('p', {}, h('a', { href: '#/jobs' }, '← all jobs')),
    h('section', { class: 'card' }, title, meta, errorLine, h('div', { class: 'actions' }, cancel, rerun)),
    h('section', { class: 'card' }, h('h2', {}, 'Progress'), stages, failures),
    outline,
    chart,
    result,
    h('section', { class: 'card' }, h('h2', {}, 'Events'), log.element),
  );

  let status: JobDetail | undefined;
  let resultShown = false;
  let editorFor = '';
  const renderChart = () => {
    const fromApi = scoresFromApi(status?.refinement);
    const blocks = fromApi.length ? fromApi : scoresFromEvents(log.events);
    chart.hidden = !blocks.length;
    if (!blocks.length) return;
    const box = h('div', { class: 'charts' });
    box.innerHTML = blocks.map((b) => blockChartSvg(b)).join(''); // built from numbers and escaped labels
    fill(chart, h('h2', {}, 'Refinement: entropy scores'), h('p', { class: 'muted' }, 'each dot is a candidate outline; the line joins the best of each layer'), box);
  };

  const renderStatus = (s: JobDetail) => {
    status = s;
    fill(title, s.jobId, ' ', stateBadge(isPaused(s) ? 'paused' : s.state));
    const item = (k: string, v: string) => [h('dt', {}, k), h('dd', {}, v)];
    fill(
      meta,
      ...item('pipeline', s.pipeline),
      ...item('submitted', formatTime(s.submittedAt)),
      ...item('started', formatTime(s.startedAt)),
      ...item('finished', formatTime(s.finishedAt)),
      ...item('wall time', formatMs(wallMs(s))),
      ...item('model calls', formatCount(s.usage?.calls)),
      ...item('tokens', formatCount(tokensOf(s.usage))),
      ...item('cost', formatDollars(s.usage?.costDollars)),
    );
    errorLine.hidden = !s.error;
    errorLine.textContent = s.error ?? '';
    cancel.hidden = TERMINAL_STATES.has(s.state) || !!s.cancelRequested;
    rerun.hidden = !(s.state === 'succeeded' && s.pipeline === 'v2') || editorFor === 'rerun';
    if (s.stages?.length) fill(stages, s.stages.map(stageRow));
    const failed = s.failures ?? log.events.filter((e) => e.type === 'task.failed');
    fill(
      failures,
      h('p', { id: 'failure-counts' }, `tasks failed: ${failed.length} · replies repaired: ${s.repairs ?? 0}`),
      failed.length ? h('ul', { class: 'failures' }, failed.slice(-20).map((e) => h('li', {}, h('code', {}, e.stage ?? ''), ' ', e.message ?? ''))) : null,
    );
    renderChart();
    if (isPaused(s)) {
      const key = `paused:${log.events.filter((e) => e.type === 'job.paused').length}`;
      if (editorFor !== key) {
        editorFor = key;
        outline.hidden = false;
        void outlineEditor(outline, id, () => void refresh());
      }
    } else if (editorFor && editorFor !== 'rerun') {
      editorFor = '';
      outline.hidden = true;
      outline.replaceChildren();
    }
    if (TERMINAL_STATES.has(s.state) && !resultShown) {
      resultShown = true;
      void resultView(result, id, s.pipeline);
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = false;
  const refresh = async () => {
    if (pending) return;
    pending = true;
    clearTimeout(timer);
    try {
      renderStatus(await apiJson<JobDetail>('GET', `/api/jobs/${enc}`));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) fill(stages, h('p', { class: 'error' }, `no job ${id}: check the id, or it was removed`));
      else notice(`status: ${(err as Error).message}`, 'error');
    } finally {
      pending = false;
    }
    if (!aborter.signal.aborted && !(status && TERMINAL_STATES.has(status.state))) timer = setTimeout(refresh, 1500);
  };
  // At most one refresh per 250 ms while events arrive (a debounce would wait for a quiet moment, which a busy job never has).
  let soon: ReturnType<typeof setTimeout> | undefined;
  const refreshSoon = () => {
    soon ??= setTimeout(() => {
      soon = undefined;
      void refresh();
    }, 250);
  };

  rerun.addEventListener('click', () => {
    editorFor = 'rerun';
    rerun.hidden = true;
    outline.hidden = false;
    void outlineEditor(outline, id, (next) => next && (location.hash = `#/job/${encodeURIComponent(next)}`), 'rerun');
  });

  cancel.addEventListener('click', async () => {
    if (!confirm(`Cancel ${id}?`)) return;
    try {
      await apiJson('POST', `/api/jobs/${enc}/cancel`);
      notice('cancellation requested');
      refreshSoon();
    } catch (err) {
      notice(`cancel: ${(err as Error).message}`, 'error');
    }
  });

  void refresh();
  void log.follow(`/api/jobs/${enc}/events`, aborter.signal, (e: JobEventView) => {
    if (e.stage === 'refine') renderChart();
    refreshSoon();
  });
  return () => {
    aborter.abort();
    clearTimeout(timer);
    clearTimeout(soon);
  };
};
