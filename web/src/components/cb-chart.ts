// A chart.js canvas as an element: give it `spec` (type, labels, datasets); it follows the theme.
// Only the chart.js parts used here are registered, so the bundle stays small.
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartDataset,
} from 'chart.js';
import { css, html, LitElement } from 'lit';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

import { colorFor, type ChartSpec } from '../chart-spec.ts';

export class CbChart extends LitElement {
  static override properties = { spec: { attribute: false }, label: {} };
  declare spec: ChartSpec | undefined;
  declare label: string;
  #chart: Chart | undefined;
  #themeObserver = new MutationObserver(() => this.#draw());

  static override styles = css`
    :host { display: block; position: relative; height: 220px; }
    canvas { width: 100% !important; height: 100% !important; }
  `;

  constructor() {
    super();
    this.spec = undefined;
    this.label = '';
  }

  override connectedCallback() {
    super.connectedCallback();
    this.#themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  }

  override disconnectedCallback() {
    this.#themeObserver.disconnect();
    this.#chart?.destroy();
    this.#chart = undefined;
    super.disconnectedCallback();
  }

  override render() {
    return html`<canvas role="img" aria-label=${this.label}></canvas>`;
  }

  #scheduled = false;

  /**
   * Draws after the frame the update belongs to has painted, once for any number of updates in
   * between: building a chart lays out its canvas synchronously, and six charts rebuilt with each
   * of a panel's responses held back the panel's first data by up to a second (bench/dashboard.ts).
   */
  override updated() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() =>
      setTimeout(() => {
        this.#scheduled = false;
        if (this.isConnected) this.#draw();
      }, 0),
    );
  }

  #draw() {
    const canvas = this.renderRoot.querySelector('canvas');
    const spec = this.spec;
    if (!canvas || !spec) return;
    const style = getComputedStyle(this);
    const text = style.getPropertyValue('--muted').trim() || '#9aa4b2';
    const grid = style.getPropertyValue('--chart-grid').trim() || 'rgba(128,128,128,0.15)';
    const unit = spec.unit ?? ((v: number) => v.toLocaleString());
    const datasets = spec.datasets.map((d, i): ChartDataset<'line' | 'bar', (number | null)[]> => {
      const color = d.color ?? colorFor(i);
      return {
        label: d.label,
        data: d.data,
        borderColor: color,
        backgroundColor: spec.type === 'bar' ? color : `${color}33`,
        borderWidth: spec.type === 'bar' ? 0 : 2,
        pointRadius: spec.type === 'line' && d.data.filter((v) => v !== null).length < 30 ? 2 : 0,
        pointHitRadius: 6,
        tension: 0.25,
        spanGaps: true,
        ...(d.dashed ? { borderDash: [5, 4] } : {}),
        ...(d.stack ? { stack: d.stack } : {}),
      };
    });
    this.#chart?.destroy();
    this.#chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { labels: { color: text, boxWidth: 12, font: { size: 11 } } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.parsed.y === null ? '—' : unit(c.parsed.y)}` } },
        },
        scales: {
          x: { stacked: !!spec.stacked, ticks: { color: text, maxRotation: 0, autoSkipPadding: 16, font: { size: 11 } }, grid: { color: grid } },
          y: {
            stacked: !!spec.stacked, beginAtZero: true, ...(spec.yMax !== undefined ? { max: spec.yMax } : {}),
            ticks: { color: text, font: { size: 11 }, callback: (v) => unit(Number(v)) }, grid: { color: grid },
          },
        },
      },
    });
  }
}

customElements.define('cb-chart', CbChart);
