/** Element building without HTML strings: text always goes in as text. */

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((ev: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && 'checked' in el) (el as HTMLInputElement).checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children.flat());
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's content. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children.flat());
}

/** A short message in the page's notice area (errors stay until dismissed). */
export function notice(text: string, kind: 'error' | 'info' = 'info'): void {
  const box = document.getElementById('notices');
  if (!box) return;
  const item = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text, h('button', { class: 'link', 'aria-label': 'dismiss', onclick: () => item.remove() }, '×'));
  box.append(item);
  if (kind === 'info') setTimeout(() => item.remove(), 4000);
}
