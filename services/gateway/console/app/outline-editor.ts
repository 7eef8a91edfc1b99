/**
 * The outline editor of a job that waits for a review: rename, move up/down, add and remove
 * sections, edit a section's guidance (its construction text). Save puts the outline; Resume
 * saves unsaved edits first and then lets the job continue.
 */
import { h, fill, notice } from './dom.ts';
import { apiJson } from './api.ts';
import { applyEdit, depthOf, outlineOf, outlineProblems, MAX_DEPTH, type OutlineEdit, type OutlineNode } from '../lib/outline-ops.ts';

/** Whether a status says the job waits for a person to review its outline. */
export function isPaused(s: { state: string; paused?: unknown }): boolean {
  return s.state === 'paused' || (!!s.paused && s.state !== 'succeeded' && s.state !== 'failed' && s.state !== 'cancelled');
}

function pausedAt(s: unknown): string {
  const p = (s as { paused?: unknown }).paused;
  if (typeof p === 'string') return p;
  if (p && typeof p === 'object') {
    const o = p as Record<string, unknown>;
    return String(o.stage ?? o.phase ?? o.at ?? '');
  }
  return '';
}

export async function outlineEditor(section: HTMLElement, jobId: string, onResumed: () => void): Promise<void> {
  const path = `/api/jobs/${encodeURIComponent(jobId)}/outline`;
  fill(section, h('h2', {}, 'Outline review'), h('p', { class: 'muted' }, 'loading the outline…'));
  let reply: unknown;
  try {
    reply = await apiJson<unknown>('GET', path);
  } catch (err) {
    fill(section, h('h2', {}, 'Outline review'), h('p', { class: 'error' }, `could not load the outline: ${(err as Error).message}`));
    return;
  }
  const first = outlineOf(reply);
  if (!first) {
    fill(section, h('h2', {}, 'Outline review'), h('p', { class: 'error' }, 'the API returned no outline for this job'));
    return;
  }
  let tree: OutlineNode = first;
  let dirty = false;
  const problems = h('ul', { class: 'problems', id: 'outline-problems' });
  const tree_el = h('ol', { class: 'outline-tree', id: 'outline-tree' });
  const saveBtn = h('button', { id: 'outline-save' }, 'Save');
  const resumeBtn = h('button', { class: 'primary', id: 'outline-resume' }, 'Resume');
  const state = h('span', { class: 'muted', id: 'outline-state' });

  const edit = (e: OutlineEdit) => {
    try {
      tree = applyEdit(tree, e);
      dirty = true;
      draw();
    } catch (err) {
      notice((err as Error).message, 'error');
    }
  };
  const nodeItem = (n: OutlineNode, index: number, count: number): HTMLElement => {
    const title = h('input', { type: 'text', class: 'section-title', value: n.title, 'aria-label': `title of section ${n.id.slice(1)}` });
    title.addEventListener('change', () => edit({ kind: 'rename', id: n.id, title: title.value }));
    const guidance = h('textarea', { class: 'section-guidance', rows: 2, 'aria-label': `guidance of section ${n.id.slice(1)}` });
    guidance.value = n.construction;
    guidance.addEventListener('change', () => edit({ kind: 'guidance', id: n.id, text: guidance.value }));
    const btn = (label: string, tip: string, e: OutlineEdit | (() => OutlineEdit | null), disabled = false) =>
      h('button', {
        type: 'button', class: 'icon', title: tip, 'aria-label': `${tip} ${n.id.slice(1)}`, disabled,
        onclick: () => {
          const ed = typeof e === 'function' ? e() : e;
          if (ed) edit(ed);
        },
      }, label);
    const ask = (child: boolean) => () => {
      const t = prompt(child ? `Title of the new subsection of “${n.title}”` : `Title of the new section after “${n.title}”`);
      return t ? ({ kind: 'add', id: n.id, title: t, child } as OutlineEdit) : null;
    };
    return h(
      'li',
      { 'data-id': n.id },
      h(
        'div',
        { class: 'section-row' },
        h('span', { class: 'section-num' }, n.id.slice(1)),
        title,
        btn('↑', 'move up', { kind: 'move', id: n.id, by: -1 }, index === 0),
        btn('↓', 'move down', { kind: 'move', id: n.id, by: 1 }, index === count - 1),
        btn('+', 'add a section after', ask(false)),
        btn('⤷', 'add a subsection to', ask(true), depthOf(n.id) >= MAX_DEPTH),
        btn('✕', 'remove', () => (confirm(`Remove “${n.title}” and its subsections?`) ? { kind: 'remove', id: n.id } : null)),
      ),
      h('details', {}, h('summary', {}, 'guidance'), guidance),
      n.children.length ? h('ol', {}, n.children.map((c, i) => nodeItem(c, i, n.children.length))) : null,
    );
  };
  const draw = () => {
    fill(tree_el, tree.children.map((c, i) => nodeItem(c, i, tree.children.length)));
    const found = outlineProblems(tree);
    fill(problems, found.map((p) => h('li', {}, p)));
    saveBtn.disabled = found.length > 0;
    resumeBtn.disabled = found.length > 0;
    state.textContent = dirty ? 'unsaved changes' : 'saved';
  };
  const save = async () => {
    const body = reply && typeof reply === 'object' && 'outline' in reply ? { outline: tree } : tree;
    const saved = await apiJson<unknown>('PUT', path, body);
    tree = outlineOf(saved) ?? tree;
    dirty = false;
    draw();
  };
  saveBtn.addEventListener('click', async () => {
    try {
      await save();
      notice('outline saved');
    } catch (err) {
      notice(`not saved: ${(err as Error).message}`, 'error');
    }
  });
  resumeBtn.addEventListener('click', async () => {
    resumeBtn.disabled = true;
    try {
      if (dirty) await save();
      await apiJson('POST', `/api/jobs/${encodeURIComponent(jobId)}/resume`);
      notice('resumed');
      fill(section, h('h2', {}, 'Outline review'), h('p', { class: 'muted', id: 'outline-resumed' }, 'resumed: the job goes on with this outline'));
      onResumed();
    } catch (err) {
      resumeBtn.disabled = false;
      notice(`not resumed: ${(err as Error).message}`, 'error');
    }
  });
  const at = pausedAt(reply) || pausedAt({ paused: (reply as { stage?: unknown })?.stage });
  fill(
    section,
    h('h2', {}, 'Outline review'),
    h('p', {}, `The job waits for you${at ? ` (${at})` : ''}: edit the outline, then Resume.`),
    h('h3', { class: 'survey-title' }, tree.title),
    tree_el,
    problems,
    h('div', { class: 'actions' }, saveBtn, resumeBtn, state),
  );
  draw();
}
