// Styles every panel shares: tables, buttons, forms, notices, badges. Colours come from theme.css.
import { css, html, nothing } from 'lit';
import { describe } from './errors.ts';

export const shared = css`
  :host { display: block; color: var(--text); }
  *, *::before, *::after { box-sizing: border-box; }
  h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
  h3 { font-size: 1rem; margin: 1.25rem 0 0.5rem; }
  a { color: var(--accent); }
  button, .button {
    font: inherit; color: var(--text); background: var(--panel-2); border: 1px solid var(--border);
    border-radius: 6px; padding: 0.35rem 0.75rem; cursor: pointer; text-decoration: none; display: inline-block;
  }
  button:hover:not(:disabled) { border-color: var(--accent); }
  button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
  button:disabled { opacity: 0.55; cursor: default; }
  button.small { padding: 0.1rem 0.45rem; font-size: 0.85rem; }
  :focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
  input, select, textarea {
    font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--border);
    border-radius: 6px; padding: 0.35rem 0.5rem; min-width: 0;
  }
  label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.85rem; color: var(--muted); }
  .card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.75rem 1rem; }
  .toolbar { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: flex-end; margin-bottom: 0.75rem; }
  .muted { color: var(--muted); }
  .mono { font-family: var(--mono); font-size: 0.85rem; }
  .scroll { overflow-x: auto; }
  /* On a phone a table keeps readable columns and scrolls sideways inside its card. */
  .scroll table { min-width: 36rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; font-size: 0.8rem; white-space: nowrap; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  .badge { display: inline-block; padding: 0 0.45rem; border-radius: 999px; font-size: 0.78rem; border: 1px solid var(--border); white-space: nowrap; }
  .ok, .up, .succeeded { color: var(--ok); border-color: var(--ok); }
  .warn, .degraded, .running, .acknowledged, .warning { color: var(--warn); border-color: var(--warn); }
  .bad, .down, .failed, .critical, .error { color: var(--bad); border-color: var(--bad); }
  .notice { border: 1px solid var(--bad); border-radius: 8px; padding: 0.6rem 0.8rem; margin: 0.5rem 0; background: color-mix(in srgb, var(--bad) 10%, transparent); }
  .notice .hint { color: var(--muted); margin-top: 0.2rem; }
  .empty { color: var(--muted); padding: 1.25rem; text-align: center; border: 1px dashed var(--border); border-radius: 8px; }
  pre { font-family: var(--mono); font-size: 0.82rem; white-space: pre-wrap; word-break: break-word; background: var(--bg); border: 1px solid var(--border); border-radius: 6px; padding: 0.5rem; margin: 0.25rem 0; max-height: 24rem; overflow: auto; }
  .grid { display: grid; gap: 0.75rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr)); }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** A readable error box (role=alert), or nothing. */
export function errorBox(err: unknown) {
  if (!err) return nothing;
  const d = describe(err);
  return html`<div class="notice" role="alert"><div>${d.message}</div>${d.hint ? html`<div class="hint">${d.hint}</div>` : nothing}</div>`;
}

export function empty(text: unknown) {
  return html`<div class="empty">${text}</div>`;
}
