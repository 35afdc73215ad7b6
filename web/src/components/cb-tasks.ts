// Workshop tasks: a kanban of Backlog / In Progress / Done. Operators drag cards between and
// within columns (or move a focused card with the arrow keys); each move is one move_task call,
// which gives the card the midpoint position of its new neighbours, so the order persists.
// Viewers get the same board without any control that writes.
import { css, html, LitElement, nothing } from 'lit';
import { query } from '../api.ts';
import { auth } from '../auth.ts';
import { ago, fullTime } from '../format.ts';
import { taskColumns, tasksQuery } from '../queries.ts';
import { empty, errorBox, shared } from '../styles.ts';

export interface Task {
  id: number;
  title: string;
  description: string;
  status: Status;
  kind: string;
  position: number;
  agent_id: string | null;
  due_at: string | null;
  created_by: string;
  updated_at: string;
}

type Status = 'backlog' | 'in_progress' | 'done';
const columns: { status: Status; label: string }[] = [
  { status: 'backlog', label: 'Backlog' },
  { status: 'in_progress', label: 'In Progress' },
  { status: 'done', label: 'Done' },
];

export class CbTasks extends LitElement {
  static override properties = {
    tasks: { state: true },
    error: { state: true },
    loading: { state: true },
    dragging: { state: true },
    drop: { state: true },
    editing: { state: true },
    announcement: { state: true },
  };
  declare tasks: Task[];
  declare error: unknown;
  declare loading: boolean;
  declare dragging: number | undefined;
  declare drop: { status: Status; index: number } | undefined;
  /** The task in the dialog; 'new' for a new one. */
  declare editing: Task | 'new' | undefined;
  declare announcement: string;
  #focusAfterRender: number | undefined;

  static override styles = [
    shared,
    css`
      .head { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.75rem; }
      .head h2 { margin: 0; flex: 1; }
      .board { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0.75rem; align-items: start; }
      @media (max-width: 800px) { .board { grid-template-columns: 1fr; } }
      section { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.5rem; min-height: 8rem; }
      section.over { border-color: var(--accent); }
      section h3 { margin: 0.2rem 0.3rem 0.5rem; display: flex; justify-content: space-between; }
      ol { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.4rem; min-height: 3rem; }
      li.card { padding: 0.5rem 0.6rem; background: var(--panel-2); cursor: default; }
      li.card[draggable='true'] { cursor: grab; }
      li.card.dragging { opacity: 0.4; }
      li.marker { height: 0; border-top: 3px solid var(--accent); border-radius: 2px; margin: -0.1rem 0; }
      .title { font-weight: 600; overflow-wrap: anywhere; }
      .desc { color: var(--muted); font-size: 0.85rem; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 4.5em; overflow: hidden; }
      .foot { display: flex; gap: 0.35rem; align-items: center; flex-wrap: wrap; margin-top: 0.3rem; font-size: 0.8rem; }
      .moves { margin-left: auto; display: flex; gap: 0.2rem; }
      .moves button { padding: 0 0.35rem; line-height: 1.4; }
      dialog { background: var(--panel); color: var(--text); border: 1px solid var(--border); border-radius: 10px; width: min(92vw, 480px); }
      dialog::backdrop { background: rgba(0, 0, 0, 0.5); }
      dialog form { display: flex; flex-direction: column; gap: 0.6rem; }
      .actions { display: flex; gap: 0.5rem; justify-content: flex-end; flex-wrap: wrap; }
      .actions .danger { margin-right: auto; color: var(--bad); }
    `,
  ];

  constructor() {
    super();
    this.tasks = [];
    this.error = undefined;
    this.loading = true;
    this.dragging = undefined;
    this.drop = undefined;
    this.editing = undefined;
    this.announcement = '';
  }

  override connectedCallback() {
    super.connectedCallback();
    void this.#load();
  }

  async #load() {
    this.loading = true;
    try {
      this.tasks = await query<Task[]>((c) => tasksQuery(c));
      this.error = undefined;
    } catch (err) {
      this.error = err;
    } finally {
      this.loading = false;
    }
  }

  #columnsOf: { tasks: Task[]; by: Map<Status, Task[]> } | undefined;

  /** A column's cards in order (computed once per change of the task list). */
  #column(status: Status): Task[] {
    if (this.#columnsOf?.tasks !== this.tasks) {
      const by = new Map<Status, Task[]>(columns.map((c) => [c.status, []]));
      for (const t of this.tasks) by.get(t.status)?.push(t);
      for (const list of by.values()) list.sort((a, b) => Number(a.position) - Number(b.position) || a.id - b.id);
      this.#columnsOf = { tasks: this.tasks, by };
    }
    return this.#columnsOf.by.get(status) ?? [];
  }

  /** Moves a card so it sits at `index` of the column (counted without the card itself). */
  async #move(task: Task, status: Status, index: number) {
    const others = this.#column(status).filter((t) => t.id !== task.id);
    const clamped = Math.max(0, Math.min(index, others.length));
    const above = others[clamped - 1];
    const below = others[clamped];
    const current = this.#column(task.status);
    if (status === task.status && current[clamped]?.id === task.id) return; // dropped where it was
    // Optimistic: show the card in place now, with a provisional position.
    const provisional = above && below ? (Number(above.position) + Number(below.position)) / 2 : above ? Number(above.position) + 1 : below ? Number(below.position) - 1 : 1;
    const before = this.tasks;
    this.tasks = this.tasks.map((t) => (t.id === task.id ? { ...t, status, position: provisional } : t));
    this.#focusAfterRender = task.id;
    const label = columns.find((c) => c.status === status)!.label;
    this.announcement = `Moved “${task.title}” to ${label}, position ${clamped + 1} of ${others.length + 1}.`;
    try {
      const moved = await query<Task>((c) =>
        c.rpc('move_task', { id: task.id, status, after_id: above?.id ?? null, before_id: below?.id ?? null }).select(taskColumns).single());
      this.tasks = this.tasks.map((t) => (t.id === moved.id ? moved : t));
      this.error = undefined;
    } catch (err) {
      this.tasks = before;
      this.error = err;
      this.announcement = `Could not move “${task.title}”.`;
    }
  }

  // ── drag and drop ──
  #dragStart(e: DragEvent, task: Task) {
    this.dragging = task.id;
    e.dataTransfer?.setData('text/plain', String(task.id));
    if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
  }

  /** Where a card dropped at clientY lands in a column: its index among the other cards. */
  #dropIndex(section: HTMLElement, clientY: number): number {
    const cards = [...section.querySelectorAll<HTMLElement>('li.card')].filter((el) => Number(el.dataset.id) !== this.dragging);
    const index = cards.findIndex((el) => {
      const r = el.getBoundingClientRect();
      return clientY < r.top + r.height / 2;
    });
    return index === -1 ? cards.length : index;
  }

  #dragOver(e: DragEvent, status: Status) {
    if (this.dragging === undefined) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
    const index = this.#dropIndex(e.currentTarget as HTMLElement, e.clientY);
    if (this.drop?.status !== status || this.drop.index !== index) this.drop = { status, index };
  }

  #dragLeave(e: DragEvent) {
    const section = e.currentTarget as HTMLElement;
    const to = e.relatedTarget as Node | null;
    if (to && !section.contains(to)) this.drop = undefined;
  }

  #dropped(e: DragEvent, status: Status) {
    e.preventDefault();
    const id = this.dragging ?? Number(e.dataTransfer?.getData('text/plain'));
    const task = this.tasks.find((t) => t.id === id);
    const index = this.#dropIndex(e.currentTarget as HTMLElement, e.clientY);
    this.dragging = undefined;
    this.drop = undefined;
    if (task) void this.#move(task, status, index);
  }

  #dragEnd() {
    this.dragging = undefined;
    this.drop = undefined;
  }

  // ── keyboard ──
  #key(e: KeyboardEvent, task: Task) {
    if (e.target !== e.currentTarget) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      this.#edit(task);
      return;
    }
    const step = this.#step(task, e.key);
    if (!step) return;
    e.preventDefault();
    void this.#move(task, step.status, step.index);
  }

  #step(task: Task, key: string): { status: Status; index: number } | undefined {
    const col = columns.findIndex((c) => c.status === task.status);
    const index = this.#column(task.status).findIndex((t) => t.id === task.id);
    if (key === 'ArrowUp' && index > 0) return { status: task.status, index: index - 1 };
    if (key === 'ArrowDown' && index < this.#column(task.status).length - 1) return { status: task.status, index: index + 1 };
    if (key === 'ArrowLeft' && col > 0) return { status: columns[col - 1]!.status, index: Math.min(index, this.#column(columns[col - 1]!.status).length) };
    if (key === 'ArrowRight' && col < columns.length - 1) return { status: columns[col + 1]!.status, index: Math.min(index, this.#column(columns[col + 1]!.status).length) };
    return undefined;
  }

  override updated() {
    if (this.#focusAfterRender !== undefined) {
      this.renderRoot.querySelector<HTMLElement>(`li.card[data-id="${this.#focusAfterRender}"]`)?.focus();
      this.#focusAfterRender = undefined;
    }
    const dialog = this.renderRoot.querySelector('dialog');
    if (dialog && this.editing && !dialog.open) dialog.showModal();
  }

  // ── create and edit ──
  #edit(task: Task | 'new') {
    if (auth.isOperator) this.editing = task;
  }

  async #save(e: SubmitEvent) {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const due = String(d.get('due_at') ?? '');
    const values = {
      title: String(d.get('title') ?? '').trim(),
      description: String(d.get('description') ?? ''),
      kind: String(d.get('kind') ?? 'todo').trim() || 'todo',
      due_at: due ? new Date(due).toISOString() : null,
    };
    const editing = this.editing;
    try {
      if (editing === 'new') {
        const status = String(d.get('status') ?? 'backlog') as Status;
        const created = await query<Task>((c) => c.from('tasks').insert({ ...values, status }).select(taskColumns).single());
        this.tasks = [...this.tasks, created];
        this.announcement = `Created “${created.title}”.`;
      } else if (editing) {
        const updated = await query<Task>((c) => c.from('tasks').update(values).eq('id', editing.id).select(taskColumns).single());
        this.tasks = this.tasks.map((t) => (t.id === updated.id ? updated : t));
      }
      this.#close();
      this.error = undefined;
    } catch (err) {
      this.error = err;
    }
  }

  async #delete(task: Task) {
    if (!confirm(`Delete “${task.title}”?`)) return;
    try {
      await query((c) => c.from('tasks').delete().eq('id', task.id));
      this.tasks = this.tasks.filter((t) => t.id !== task.id);
      this.#close();
    } catch (err) {
      this.error = err;
    }
  }

  #close() {
    this.renderRoot.querySelector('dialog')?.close();
    this.editing = undefined;
  }

  override render() {
    const operator = auth.isOperator;
    return html`
      <div class="head">
        <h2>Tasks</h2>
        ${operator ? html`<button class="primary" @click=${() => this.#edit('new')}>New task</button>` : html`<span class="muted">Read-only: an operator can move and edit tasks.</span>`}
      </div>
      ${operator ? html`<p class="muted visually-hidden" id="kbd-help">Focus a card and use the arrow keys to move it; Enter edits it.</p>` : nothing}
      ${errorBox(this.error)}
      ${!this.loading && !this.error && this.tasks.length === 0
        ? empty(operator ? html`No tasks yet. Create one with <strong>New task</strong>, or let an agent POST to <code>/tasks</code>.` : 'No tasks yet. Agents and operators add them.')
        : nothing}
      <div class="board">${columns.map((c) => this.#renderColumn(c.status, c.label, operator))}</div>
      <div class="visually-hidden" role="status" aria-live="polite">${this.announcement}</div>
      ${this.editing ? this.#dialog(this.editing) : nothing}
    `;
  }

  #renderColumn(status: Status, label: string, operator: boolean) {
    const cards = this.#column(status);
    const drop = this.drop?.status === status ? this.drop.index : -1;
    const items = cards.map((t) => this.#card(t, operator));
    if (drop !== -1) {
      // The marker goes before the drop-th card other than the dragged one (which stays, dimmed).
      const others = cards.filter((t) => t.id !== this.dragging);
      const before = others[drop];
      const at = before ? cards.indexOf(before) : cards.length;
      items.splice(at, 0, html`<li class="marker" aria-hidden="true"></li>`);
    }
    return html`
      <section data-status=${status} aria-label=${label} class=${drop !== -1 ? 'over' : ''}
        @dragenter=${operator ? (e: DragEvent) => this.#dragOver(e, status) : undefined}
        @dragover=${operator ? (e: DragEvent) => this.#dragOver(e, status) : undefined}
        @dragleave=${operator ? this.#dragLeave : undefined}
        @drop=${operator ? (e: DragEvent) => this.#dropped(e, status) : undefined}>
        <h3><span>${label}</span><span class="muted">${cards.length}</span></h3>
        <ol>${items}</ol>
      </section>
    `;
  }

  #card(t: Task, operator: boolean) {
    const col = columns.findIndex((c) => c.status === t.status);
    const list = this.#column(t.status);
    const index = list.findIndex((x) => x.id === t.id);
    const overdue = t.due_at && t.status !== 'done' && new Date(t.due_at).getTime() < Date.now();
    return html`
      <li class="card ${this.dragging === t.id ? 'dragging' : ''}" data-id=${t.id} tabindex="0"
        draggable=${operator ? 'true' : 'false'}
        aria-describedby=${operator ? 'kbd-help' : nothing}
        @dragstart=${operator ? (e: DragEvent) => this.#dragStart(e, t) : undefined}
        @dragend=${operator ? this.#dragEnd : undefined}
        @keydown=${operator ? (e: KeyboardEvent) => this.#key(e, t) : undefined}>
        <div class="title">${t.title}</div>
        ${t.description ? html`<div class="desc">${t.description}</div>` : nothing}
        <div class="foot">
          <span class="badge">${t.kind}</span>
          ${t.agent_id ? html`<span class="muted">${t.agent_id}</span>` : nothing}
          ${t.due_at ? html`<span class="badge ${overdue ? 'bad' : ''}" title=${fullTime(t.due_at)}>due ${ago(t.due_at)}</span>` : nothing}
          ${operator
            ? html`<span class="moves">
                <button class="small" aria-label="Move “${t.title}” left" ?disabled=${col === 0} @click=${() => this.#move(t, columns[col - 1]!.status, index)}>◀</button>
                <button class="small" aria-label="Move “${t.title}” up" ?disabled=${index === 0} @click=${() => this.#move(t, t.status, index - 1)}>▲</button>
                <button class="small" aria-label="Move “${t.title}” down" ?disabled=${index === list.length - 1} @click=${() => this.#move(t, t.status, index + 1)}>▼</button>
                <button class="small" aria-label="Move “${t.title}” right" ?disabled=${col === columns.length - 1} @click=${() => this.#move(t, columns[col + 1]!.status, index)}>▶</button>
                <button class="small" @click=${() => this.#edit(t)}>Edit</button>
              </span>`
            : html`<span class="muted moves" title=${fullTime(t.updated_at)}>${ago(t.updated_at)}</span>`}
        </div>
      </li>
    `;
  }

  #dialog(editing: Task | 'new') {
    const t = editing === 'new' ? undefined : editing;
    const due = t?.due_at ? toLocalInput(t.due_at) : '';
    return html`
      <dialog @close=${() => (this.editing = undefined)} aria-labelledby="dialog-title">
        <form @submit=${this.#save}>
          <h2 id="dialog-title">${t ? 'Edit task' : 'New task'}</h2>
          <label>Title <input name="title" required maxlength="500" .value=${t?.title ?? ''} autofocus /></label>
          <label>Description <textarea name="description" rows="4" .value=${t?.description ?? ''}></textarea></label>
          <label>Kind <input name="kind" pattern="[a-z][a-z0-9_]{0,31}" title="lower-case word, e.g. todo, pr_review, research" .value=${t?.kind ?? 'todo'} /></label>
          ${t ? nothing : html`<label>Column <select name="status">${columns.map((c) => html`<option value=${c.status}>${c.label}</option>`)}</select></label>`}
          <label>Due <input name="due_at" type="datetime-local" .value=${due} /></label>
          <div class="actions">
            ${t ? html`<button type="button" class="danger" @click=${() => this.#delete(t)}>Delete</button>` : nothing}
            <button type="button" @click=${this.#close}>Cancel</button>
            <button class="primary" type="submit">${t ? 'Save' : 'Create'}</button>
          </div>
        </form>
      </dialog>
    `;
  }
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

customElements.define('cb-tasks', CbTasks);
