// The report's opening figures: actual against estimated kWh over the run's data, the gap in kWh and %,
// the mean deviation, and the price elasticity per profile class; plus the names of GSP groups and profile classes.
import type { Row } from './charts';
import { escapeHtml } from './html';

/** Totals of the master table in the run's snapshot, computed by the report activity. */
export interface MasterTotals {
  readonly halfHours: number;
  readonly meters: number;
  /** First and last settlement half hour, ISO UTC. */
  readonly from: string;
  readonly to: string;
  readonly actualKwh: number;
  readonly estimatedKwh: number;
  /** Mean of the per-half-hour relative deviation, a fraction (0.05 is 5%). */
  readonly meanDeviation: number;
}

/** The 14 GSP groups (settlement regions) by their code. */
export const GSP_GROUP_NAMES: Readonly<Record<string, string>> = {
  _A: 'Eastern',
  _B: 'East Midlands',
  _C: 'London',
  _D: 'Merseyside and North Wales',
  _E: 'West Midlands',
  _F: 'North Eastern',
  _G: 'North Western',
  _H: 'Southern',
  _J: 'South Eastern',
  _K: 'South Wales',
  _L: 'South Western',
  _M: 'Yorkshire',
  _N: 'South Scotland',
  _P: 'North Scotland',
};

/** `East Midlands (_B)`; an unknown code as itself. */
export function gspGroupLabel(code: unknown): string {
  const name = GSP_GROUP_NAMES[String(code)];
  return name ? `${name} (${String(code)})` : String(code);
}

const PROFILE_CLASS_NAMES: Readonly<Record<string, string>> = {
  '1': 'domestic unrestricted',
  '2': 'domestic Economy 7',
  '3': 'small non-domestic unrestricted',
  '4': 'small non-domestic Economy 7',
  '5': 'non-domestic maximum demand',
  '6': 'non-domestic maximum demand',
  '7': 'non-domestic maximum demand',
  '8': 'non-domestic maximum demand',
};

/** `2 domestic Economy 7`. */
export function profileClassLabel(id: unknown): string {
  const name = PROFILE_CLASS_NAMES[String(id)];
  return name ? `${String(id)} ${name}` : String(id);
}

const kwh = (value: number) => `${value.toLocaleString('en-GB', { maximumFractionDigits: Math.abs(value) >= 1000 ? 0 : 1 })} kWh`;
const signed = (text: string, value: number) => (value > 0 ? `+${text}` : text);
const percent = (fraction: number) => `${signed((fraction * 100).toFixed(1), fraction)}%`;

function figure(key: string, value: number, shown: string, label: string): string {
  return `<div class="figure" data-headline="${key}" data-value="${value}"><div class="value">${escapeHtml(shown)}</div><div class="label">${escapeHtml(label)}</div></div>`;
}

/** The headline: what the run measured, before any chart. */
export function headlineSection(totals: MasterTotals | undefined, fits: readonly Row[] | undefined): string {
  if (!totals || totals.halfHours === 0) {
    return `<section class="headline part" data-section="headline"><h2>The gap at a glance</h2><p class="muted">No master table in this run's snapshot: nothing to sum.</p></section>`;
  }
  const gap = totals.actualKwh - totals.estimatedKwh;
  const gapShare = totals.estimatedKwh === 0 ? 0 : gap / totals.estimatedKwh;
  const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');
  const elasticity =
    fits && fits.length > 0
      ? `<table class="elasticity"><thead><tr><th>profile class</th><th>price elasticity</th><th>r²</th><th>points</th></tr></thead><tbody>${fits
          .map(
            (fit) =>
              `<tr data-profile-class="${escapeHtml(String(fit.profile_class_id))}" data-elasticity="${Number(fit.price_elasticity)}" data-r-squared="${Number(fit.r_squared)}"><td>${escapeHtml(profileClassLabel(fit.profile_class_id))}</td><td>${Number(fit.price_elasticity).toFixed(3)}</td><td>${Number(fit.r_squared).toFixed(2)}</td><td>${Number(fit.points).toLocaleString('en-GB')}</td></tr>`,
          )
          .join('')}</tbody></table>
<p class="caption">Price elasticity: the slope of log(actual ÷ estimate) on log(unit rate, p/kWh) over the half hours of variable-tariff meters; −0.1 means consumption falls about 0.1% below its estimate for every 1% rise in the rate. r²: the share of the spread that the fitted line explains (0 to 1).</p>`
      : `<p class="muted">No price elasticity: the price-response model was not rerun in this run, or had too few points.</p>`;
  return `<section class="headline part" data-section="headline">
<h2>The gap at a glance</h2>
<p>${totals.meters.toLocaleString('en-GB')} meters, ${totals.halfHours.toLocaleString('en-GB')} half hours with both a reading and an estimate, ${escapeHtml(day(totals.from))} to ${escapeHtml(day(totals.to))} UTC.</p>
<div class="figures">
${figure('actual-kwh', totals.actualKwh, kwh(totals.actualKwh), 'actual consumption')}
${figure('estimated-kwh', totals.estimatedKwh, kwh(totals.estimatedKwh), 'estimated (EAC × PPC)')}
${figure('difference-kwh', gap, signed(kwh(gap), gap), 'actual − estimated')}
${figure('difference-percent', gapShare * 100, percent(gapShare), 'of the estimate')}
${figure('mean-deviation-percent', totals.meanDeviation * 100, percent(totals.meanDeviation), 'mean deviation per half hour')}
</div>
<p class="caption">The difference is of the totals; the mean deviation is the average of each half hour's (actual − estimate) ÷ estimate, so small estimates weigh as much as large ones.</p>
<h3>Response to price, per profile class</h3>
${elasticity}
</section>`;
}
