// NOTE: moved to src/build/periods.ts; re-exported for the analytics activities that import it from here.
export { periodSpanOf, periodStartsOf } from '../build/periods';
