// The workflows the worker registers.
export { pipeline } from './pipeline';
export { maintenance } from './maintenance';
