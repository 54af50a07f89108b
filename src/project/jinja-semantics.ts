// Jinja's semantics where nunjucks has JavaScript's, for templates written for dbt (Jinja in Python):
// - Truth: an empty list or dict is false in Jinja and true in JavaScript, which nunjucks compiles
//   `if`, `not`, `and`, `or` and `x if c else y` to. dbt projects write
//   `{% if var('excluded', []) %} … not in (…) {% endif %}`, which nunjucks alone renders with an empty
//   list. The compiler's five emitters are replaced by ones that judge a value as Jinja does
//   (runtime.jinjaTruthy).
// - Loop scope: a `{% set %}` inside a `{% for %}` stays in the loop in Jinja; in nunjucks it wrote
//   the variable outside (`{% set total = total + x %}` summed where dbt keeps the outer value). A
//   loop's frame (the one frame nunjucks pushes without arguments) now keeps its writes.
// Installed once per process. nunjucks is pinned (package.json); test/unit/jinja-semantics.test.ts
// fails if a version compiles these otherwise.
import nunjucks from 'nunjucks';

/** A value as Jinja's `if` judges it: empty lists and dicts are false, as are '', 0, none and false. */
export function jinjaTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.keys(value).length > 0;
  }
  return Boolean(value);
}

/** The parts of nunjucks' compiler the emitters use (not in its published types). */
interface CompilerInternals {
  _emit(code: string): void;
  _emitLine(code: string): void;
  _compileExpression(node: unknown, frame: unknown): void;
  _withScopedSyntax(work: () => void): void;
  compile(node: unknown, frame: unknown): void;
}

type Node = Record<string, unknown>;

let installed = false;

/** Make nunjucks judge truth and scope loops as Jinja does, in every environment of this process (idempotent). */
export function installJinjaSemantics(): void {
  if (installed) return;
  installed = true;
  const internals = nunjucks as unknown as {
    runtime: Record<string, unknown> & { Frame: { prototype: { push(isolateWrites?: boolean): unknown } } };
    compiler: { Compiler: { prototype: Record<string, unknown> } };
  };
  internals.runtime.jinjaTruthy = jinjaTruthy;
  // a for loop's frame (and an include's) is pushed without arguments: its writes stay in it, as in Jinja
  const frame = internals.runtime.Frame.prototype;
  const push = frame.push;
  frame.push = function pushIsolated(this: unknown, isolateWrites?: boolean) {
    return push.call(this, isolateWrites ?? true);
  };
  const proto = internals.compiler.Compiler.prototype;
  proto.compileIf = function compileIf(this: CompilerInternals, node: Node, frame: unknown, async?: boolean) {
    this._emit('if(runtime.jinjaTruthy(');
    this._compileExpression(node.cond, frame);
    this._emitLine(')) {');
    this._withScopedSyntax(() => {
      this.compile(node.body, frame);
      if (async) this._emit('cb()');
    });
    if (node.else_) {
      this._emitLine('}\nelse {');
      this._withScopedSyntax(() => {
        this.compile(node.else_, frame);
        if (async) this._emit('cb()');
      });
    } else if (async) {
      this._emitLine('}\nelse {');
      this._emit('cb()');
    }
    this._emitLine('}');
  };
  proto.compileInlineIf = function compileInlineIf(this: CompilerInternals, node: Node, frame: unknown) {
    this._emit('(runtime.jinjaTruthy(');
    this.compile(node.cond, frame);
    this._emit(')?');
    this.compile(node.body, frame);
    this._emit(':');
    if (node.else_ !== null) this.compile(node.else_, frame);
    else this._emit('""');
    this._emit(')');
  };
  proto.compileNot = function compileNot(this: CompilerInternals, node: Node, frame: unknown) {
    this._emit('!runtime.jinjaTruthy(');
    this.compile(node.target, frame);
    this._emit(')');
  };
  // `a or b` is a when a is true, else b; `a and b` is b when a is true, else a (b unevaluated otherwise)
  const logical = (whenTrue: 'left' | 'right') =>
    function compileLogical(this: CompilerInternals, node: Node, frame: unknown) {
      this._emit('(function(l){return runtime.jinjaTruthy(l)?');
      if (whenTrue === 'left') this._emit('l:(');
      else this._emit('(');
      this.compile(node.right, frame);
      this._emit(whenTrue === 'left' ? ');})(' : '):l;})(');
      this.compile(node.left, frame);
      this._emit(')');
    };
  proto.compileOr = logical('left');
  proto.compileAnd = logical('right');
}
