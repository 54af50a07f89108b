// dbt renders Jinja in a sandbox (jinja2.sandbox.SandboxedEnvironment): a template reads data, never
// the interpreter. nunjucks compiles a template to JavaScript and lets `x.constructor` reach
// Function, so `{{ range.constructor("return process")() }}` would run any code on the worker (read
// its environment's secrets, start processes). These checks close that: no attribute that starts
// with `_` (as Jinja's sandbox refuses) or that JavaScript's objects and functions all have
// (`constructor`, `call`, `__proto__`, …) unless it is a dict's own key, and no such name looked up
// as a variable.

const INHERITED = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Function.prototype),
  'prototype',
]);
// (a function's name and length are data)
INHERITED.delete('name');
INHERITED.delete('length');

const isObject = (value: unknown): value is object => value !== null && (typeof value === 'object' || typeof value === 'function');

/** Whether reading `key` of `obj` could reach the interpreter rather than data. */
export function unsafeAttribute(obj: unknown, key: unknown): boolean {
  if (typeof key !== 'string') return false;
  if (!key.startsWith('_') && !INHERITED.has(key)) return false;
  // a dict's own entry is data (`d['_x']`, `d.constructor` of a dict that has that key)
  const plain = isObject(obj) && [Object.prototype, null].includes(Object.getPrototypeOf(obj) as object | null);
  const own = plain && Object.prototype.hasOwnProperty.call(obj, key);
  return !own;
}

/** Refuse an unsafe attribute, as Jinja's sandbox does. */
export function checkAttribute(obj: unknown, key: unknown): void {
  if (unsafeAttribute(obj, key))
    throw new Error(`access to attribute '${String(key)}' is unsafe: dbt's Jinja is sandboxed, and so is meterflow's`);
}

/** Whether a variable name is one every JavaScript object answers (`constructor`, `toString`, `__proto__`). */
export const unsafeName = (name: unknown): boolean => typeof name === 'string' && (name.startsWith('__') || INHERITED.has(name));
