/**
 * The outline editor of a job that waits for a review: rename, move up/down, add and remove
 * sections, edit a section's guidance (its construction text). Save puts the outline; Resume
 * saves unsaved edits first and then lets the job continue.
 */
import { h, fill, notice } from './dom.ts';
import { apiJson } from './api.ts';
import { applyEdit, numberOf, outlineOf, outlineProblems, MAX_DEPTH, type OutlineEdit, type OutlineNode, type Path } from '../lib/outline-ops.ts';

/** Whether a status says the job waits for a person to review its outline. */
export function isPaused(s: { state: string }): boolean {
  return s.state === 'paused';
}

/**
 * The editor, in one of two modes: `review` for a paused job (Save, Resume), `rerun` for a
 * finished survey (one button that puts the edited outline, which starts a rerun that rewrites
 * only what the edit touches; `onDone` gets the rerun's job id).
 */
export async function outlineEditor(section: HTMLElement, jobId: string, onDone: (rerunJobId?: string) => void, mode: 'review' | 'rerun' = 'review'): Promise<void> {
  const heading = mode === 'review' ? 'Outline review' : 'Edit the outline and rerun';
  const path = `/api/jobs/${encodeURIComponent(jobId)}/outline`;
  fill(section, h('h2', {}, heading), h('p', { class: 'muted' }, 'loading the outline…'));
  let reply: unknown;
  try {
    reply = await apiJson<unknown>('GET', path);
  } catch (err) {
    fill(section, h('h2', {}, heading), h('p', { class: 'error' }, `could not load the outline: ${(err as Error).message}`));
    return;
  }
  const first = outlineOf(reply);
  if (!first) {
    fill(section, h('h2', {}, heading), h('p', { class: 'error' }, 'the API returned no outline for this job'));
    return;
  }
  let tree: OutlineNode = first;
  const view = reply as { maxDepth?: unknown; gate?: unknown; next?: unknown };
  const maxDepth = typeof view.maxDepth === 'number' ? view.maxDepth : MAX_DEPTH;
  let dirty = false;
  const problems = h('ul', { class: 'problems', id: 'outline-problems' });
  const tree_el = h('ol', { class: 'outline-tree', id: 'outline-tree' });
  const saveBtn = h('button', { id: 'outline-save' }, 'Save');
  const resumeBtn = h('button', { class: 'primary', id: 'outline-resume' }, 'Resume');
  const rerunBtn = h('button', { class: 'primary', id: 'outline-rerun' }, 'Rerun with this outline');
  const state = h('span', { class: 'muted', id: 'outline-state' });

  const edit = (e: OutlineEdit) => {
    try {
      tree = applyEdit(tree, e, maxDepth);
      dirty = true;
      draw();
    } catch (err) {
      notice((err as Error).message, 'error');
    }
  };
  const nodeItem = (n: OutlineNode, path: Path, count: number): HTMLElement => {
    const num = numberOf(path);
    const index = path[path.length - 1];
    const title = h('input', { type: 'text', class: 'section-title', value: n.title, 'aria-label': `title of section ${num}` });
    title.addEventListener('change', () => edit({ kind: 'rename', path, title: title.value }));
    const guidance = h('textarea', { class: 'section-guidance', rows: 2, 'aria-label': `guidance of section ${num}` });
    guidance.value = n.construction;
    guidance.addEventListener('change', () => edit({ kind: 'guidance', path, text: guidance.value }));
    const btn = (label: string, tip: string, e: OutlineEdit | (() => OutlineEdit | null), disabled = false) =>
      h('button', {
        type: 'button', class: 'icon', title: tip, 'aria-label': `${tip} ${num}`, disabled,
        onclick: () => {
          const ed = typeof e === 'function' ? e() : e;
          if (ed) edit(ed);
        },
      }, label);
    const ask = (child: boolean) => () => {
      const t = prompt(child ? `Title of the new subsection of “${n.title}”` : `Title of the new section after “${n.title}”`);
      return t ? ({ kind: 'add', path, title: t, child } as OutlineEdit) : null;
    };
    return h(
      'li',
      { 'data-id': n.id, 'data-path': num },
      h(
        'div',
        { class: 'section-row' },
        h('span', { class: 'section-num' }, num),
        title,
        btn('↑', 'move up', { kind: 'move', path, by: -1 }, index === 0),
        btn('↓', 'move down', { kind: 'move', path, by: 1 }, index === count - 1),
        btn('+', 'add a section after', ask(false)),
        btn('⤷', 'add a subsection to', ask(true), path.length >= maxDepth),
        btn('✕', 'remove', () => (confirm(`Remove “${n.title}” and its subsections?`) ? { kind: 'remove', path } : null)),
      ),
      h('details', {}, h('summary', {}, 'guidance'), guidance),
      n.children.length ? h('ol', {}, n.children.map((c, i) => nodeItem(c, [...path, i], n.children.length))) : null,
    );
  };
  const draw = () => {
    fill(tree_el, tree.children.map((c, i) => nodeItem(c, [i], tree.children.length)));
    const found = outlineProblems(tree, maxDepth);
    fill(problems, found.map((p) => h('li', {}, p)));
    saveBtn.disabled = found.length > 0;
    resumeBtn.disabled = found.length > 0;
    rerunBtn.disabled = found.length > 0 || !dirty;
    state.textContent = dirty ? 'unsaved changes' : 'saved';
  };
  const save = async () => {
    const saved = await apiJson<unknown>('PUT', path, tree);
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
      fill(section, h('h2', {}, heading), h('p', { class: 'muted', id: 'outline-resumed' }, 'resumed: the job goes on with this outline'));
      onDone();
    } catch (err) {
      resumeBtn.disabled = false;
      notice(`not resumed: ${(err as Error).message}`, 'error');
    }
  });
  rerunBtn.addEventListener('click', async () => {
    rerunBtn.disabled = true;
    try {
      const r = await apiJson<{ rerunJobId?: string; note?: string }>('PUT', path, tree);
      if (!r.rerunJobId) {
        notice(r.note ?? 'nothing to rerun');
        rerunBtn.disabled = false;
        return;
      }
      notice(`rerun ${r.rerunJobId} started`);
      onDone(r.rerunJobId);
    } catch (err) {
      rerunBtn.disabled = false;
      notice(`not rerun: ${(err as Error).message}`, 'error');
    }
  });
  const gate = typeof view.gate === 'string' ? view.gate : '';
  const intro =
    mode === 'review'
      ? `The job waits for you${gate ? ` at its ${gate} outline` : ''}: edit the outline, Save, then Resume.`
      : 'Edit the outline of this finished survey; the rerun reuses every stored result and rewrites only the sections the edit touches (and their ancestors).';
  fill(
    section,
    h('h2', {}, heading),
    h('p', {}, intro),
    h('h3', { class: 'survey-title' }, tree.title),
    tree_el,
    problems,
    h('div', { class: 'actions' }, ...(mode === 'review' ? [saveBtn, resumeBtn, state] : [rerunBtn, state])),
  );
  draw();
}
