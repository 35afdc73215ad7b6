// What a <cb-chart> draws, without chart.js itself: panels build specs in the main bundle while the
// chart element (and chart.js) loads on demand.
export interface ChartSpec {
  type: 'line' | 'bar';
  labels: string[];
  datasets: { label: string; data: (number | null)[]; stack?: string; color?: string; dashed?: boolean }[];
  stacked?: boolean;
  /** Formats a y value for the axis and tooltips. */
  unit?: (v: number) => string;
  yMax?: number;
}

const palette = ['#5aa9ff', '#3fb950', '#d29922', '#f778ba', '#a371f7', '#56d4dd', '#f0883e', '#8b949e'];

export const colorFor = (i: number) => palette[i % palette.length]!;
