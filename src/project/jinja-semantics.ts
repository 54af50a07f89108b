// Jinja's semantics where nunjucks has JavaScript's, for templates written for dbt (Jinja in Python):
// - Truth: an empty list or dict is false in Jinja and true in JavaScript, which nunjucks compiles
//   `if`, `not`, `and`, `or` and `x if c else y` to. dbt projects write
//   `{% if var('excluded', []) %} … not in (…) {% endif %}`, which nunjucks alone renders with an empty
//   list. The compiler's five emitters are replaced by ones that judge a value as Jinja does
//   (runtime.jinjaTruthy).
// - Loop scope: a `{% set %}` inside a `{% for %}` stays in the loop in Jinja, and in the one
//   iteration; in nunjucks it wrote the variable outside (`{% set total = total + x %}` summed where
//   dbt keeps the outer value). A loop's frame (the one frame nunjucks pushes without arguments) now
//   keeps its writes, and each iteration's body runs in a frame of its own.
// - Namespaces: `{% set ns = namespace(total=0) %}` and `{% set ns.total = ns.total + x %}`, Jinja's
//   way out of loop scope, which nunjucks cannot parse into a set; assigning an attribute of anything
//   but a namespace is an error, as in Jinja.
// Installed once per process. nunjucks is pinned (package.json); test/unit/jinja-semantics.test.ts
// fails if a version compiles these otherwise.
import nunjucks from 'nunjucks';
import { MacroReturn } from './jinja-filters';
import { installCallSpreads, installFloatLiterals, installPythonLexing, type NunjucksInternals } from './jinja-parser';
import { negativeIndex, pythonMethod } from './jinja-methods';
import { checkAttribute, unsafeName } from './jinja-sandbox';
import {
  loopFilter,
  loopItems,
  pyAdd,
  pyDict,
  pyFloat,
  pyNeg,
  pyKeywords,
  pySlice,
  pySpread,
  pyTuple,
  splitCall,
  pyDiv,
  pyEquals,
  pyFloorDiv,
  pyPow,
  pyIn,
  pyMod,
  pyMul,
  pyStr,
  pySub,
  jinjaTruthy,
  isDict,
  unwrap,
} from './jinja-python';

/** The parts of nunjucks' compiler the emitters use (not in its published types). */
export interface CompilerInternals {
  _emit(code: string): void;
  _emitLine(code: string): void;
  _compileExpression(node: unknown, frame: unknown): void;
  _withScopedSyntax(work: () => void): void;
  compile(node: unknown, frame: unknown): void;
}

export type Node = Record<string, unknown>;
export type NodeClass = { extend(name: string, props: object): new (lineno: unknown, colno: unknown, ...fields: unknown[]) => Node };

/** What Jinja's `namespace(…)` gives: an object whose attributes `{% set ns.x = … %}` assigns. */
export class JinjaNamespace {
  constructor(attributes: Record<string, unknown> = {}) {
    Object.assign(this, attributes);
  }
}

/** Jinja's `namespace()`: keyword arguments (and a dict) become its attributes. */
export function namespace(...args: unknown[]): JinjaNamespace {
  const attributes: Record<string, unknown> = {};
  for (const arg of args) {
    if (arg !== null && typeof arg === 'object') Object.assign(attributes, arg);
  }
  delete attributes.__keywords;
  return new JinjaNamespace(attributes);
}

/** `{% set target.name = value %}`: only on a namespace, as in Jinja. */
function setAttribute(target: unknown, name: unknown, value: unknown): void {
  if (!(target instanceof JinjaNamespace)) {
    throw new Error(`cannot assign attribute ${String(name)} on a non-namespace object (use namespace())`);
  }
  (target as unknown as Record<string, unknown>)[String(name)] = value;
}

let installed = false;

/** Make nunjucks judge truth and scope loops as Jinja does, in every environment of this process (idempotent). */
export function installJinjaSemantics(): void {
  if (installed) return;
  installed = true;
  // slices (`x[1:3]`) and True/False/None; the methods it adds are replaced below by Python's own
  (nunjucks as unknown as { installJinjaCompat(): void }).installJinjaCompat();
  const internals = nunjucks as unknown as {
    runtime: Record<string, unknown> & { Frame: { prototype: { push(isolateWrites?: boolean): unknown } } };
    compiler: { Compiler: { prototype: Record<string, unknown> } };
    nodes: { Node: NodeClass };
  };
  internals.runtime.jinjaTruthy = jinjaTruthy;
  internals.runtime.jinjaSetAttribute = setAttribute;
  installPythonValues(internals.runtime);
  // a for loop's frame (and an include's) is pushed without arguments: its writes stay in it, as in Jinja
  const frame = internals.runtime.Frame.prototype;
  const push = frame.push;
  frame.push = function pushIsolated(this: unknown, isolateWrites?: boolean) {
    return push.call(this, isolateWrites ?? true);
  };
  const proto = internals.compiler.Compiler.prototype;
  installIterationScope(internals.nodes.Node, proto);
  installAttributeSet(proto);
  installPythonOperators(proto);
  installMacroReturn(proto, internals.runtime);
  installCompilerFixes(proto);
  installLoopHelpers(proto, internals.runtime);
  installCallSpreads(internals as unknown as NunjucksInternals, proto);
  installFloatLiterals(internals as unknown as NunjucksInternals, proto);
  installPythonLexing(internals as unknown as NunjucksInternals);
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

let withBlocks = 0;

/** The nodes of `{% break %}` and `{% continue %}` (jinja2.ext.loopcontrols, which dbt enables) and `{% with %}`, for their tags. */
export const loopControls: Record<string, new (lineno: unknown, colno: unknown) => Node> = {};

/** A compile-time frame of nunjucks' compiler: names bound to the JavaScript that reads them. */
interface CompileFrame {
  push(): CompileFrame;
  set(name: string, code: string): void;
}

/**
 * Each iteration of a for loop runs its body in a frame of its own: what it sets is gone at the next.
 * `for x in items if cond` keeps the items cond passes before the loop counts them, as Jinja's
 * loop filter does (nunjucks reads `items if cond` as an inline if, giving '' when cond is false).
 */
function installIterationScope(Node: NodeClass, proto: Record<string, unknown>): void {
  const IterationScope = Node.extend('MeterflowIterationScope', { fields: ['body'] });
  const LoopFilter = Node.extend('MeterflowLoopFilter', { fields: ['items', 'cond', 'names'] });
  proto.compileMeterflowIterationScope = function compileIterationScope(this: CompilerInternals, node: Node, frame: unknown) {
    // try/finally: {% break %} and {% continue %} leave the body early, and its frame with it
    this._emitLine('frame = frame.push(); try {');
    this.compile(node.body, frame);
    this._emitLine('} finally { frame = frame.pop(); }');
  };
  proto.compileMeterflowBreak = function compileBreak(this: CompilerInternals) {
    this._emitLine('break;');
  };
  proto.compileMeterflowContinue = function compileContinue(this: CompilerInternals) {
    this._emitLine('continue;');
  };
  loopControls.with = Node.extend('MeterflowWith', { fields: ['names', 'values', 'body'] });
  proto.compileMeterflowWith = function compileWith(this: CompilerInternals, node: Node, frame: unknown) {
    // the values are read in the outer scope, then set in the block's own
    const values = (node.values as Node[]).map((value) => {
      const id = `meterflow_with_${withBlocks++}`;
      this._emit(`var ${id} = `);
      this._compileExpression(value, frame);
      this._emitLine(';');
      return id;
    });
    this._emitLine('frame = frame.push(); try {');
    (node.names as string[]).forEach((name, i) => this._emitLine(`frame.set(${JSON.stringify(name)}, ${values[i]});`));
    this.compile(node.body, frame);
    this._emitLine('} finally { frame = frame.pop(); }');
  };
  loopControls.break = Node.extend('MeterflowBreak', { fields: [] });
  loopControls.continue = Node.extend('MeterflowContinue', { fields: [] });
  proto.compileMeterflowLoopFilter = function compileLoopFilter(this: CompilerInternals, node: Node, frame: CompileFrame) {
    const names = node.names as Node;
    const bound = names.typename === 'Array' ? (names.children as Node[]).map((child) => child.value as string) : [names.value as string];
    const inner = frame.push();
    bound.forEach((name, i) => inner.set(name, bound.length === 1 ? 'meterflow_item' : `meterflow_item[${i}]`));
    this._emit('runtime.loopFilter(');
    this._compileExpression(node.items, frame);
    this._emit(', function(meterflow_item) { return runtime.jinjaTruthy(');
    this._compileExpression(node.cond, inner);
    this._emit('); })');
  };
  const assertType = proto.assertType as (this: CompilerInternals, node: Node, ...types: unknown[]) => void;
  proto.assertType = function assertTypeWithOurs(this: CompilerInternals, node: Node, ...types: unknown[]) {
    if (node.typename === 'MeterflowLoopFilter') return;
    assertType.call(this, node, ...types);
  };
  const compileFor = proto.compileFor as (this: CompilerInternals, node: Node, frame: unknown) => void;
  proto.compileFor = function compileForScoped(this: CompilerInternals, node: Node, frame: unknown) {
    const body = node.body as Node;
    if (body.typename !== 'MeterflowIterationScope') node.body = new IterationScope(body.lineno, body.colno, body);
    const items = node.arr as Node;
    if (items.typename === 'InlineIf' && items.else_ === null) {
      node.arr = new LoopFilter(items.lineno, items.colno, items.body, items.cond, node.name);
    }
    compileFor.call(this, node, frame);
  };
  // a dict's key is an expression, as in Python: `{col: 1}` keys by col's value, not the text 'col'
  const compileDict = proto.compileDict as (this: CompilerInternals, node: Node, frame: unknown) => void;
  proto.compileDict = function compilePythonDict(this: CompilerInternals, node: Node, frame: unknown) {
    // keyword arguments (`f(a=1)`) are a dict of names
    if (node.typename === 'KeywordArgs') return compileDict.call(this, node, frame);
    this._emit('runtime.pyDict([');
    (node.children as Node[]).forEach((pair, i) => {
      if (i > 0) this._emit(',');
      this._emit('[');
      this._compileExpression(pair.key, frame);
      this._emit(',');
      this._compileExpression(pair.value, frame);
      this._emit(']');
    });
    this._emit('])');
  };
  // `(a, b)` is a tuple, not JavaScript's comma operator
  const compileGroup = proto.compileGroup as (this: CompilerInternals, node: Node, frame: unknown) => void;
  proto.compileGroup = function compileTuple(this: CompilerInternals, node: Node, frame: unknown) {
    const children = node.children as Node[];
    if (children.length < 2) return compileGroup.call(this, node, frame);
    this._emit('runtime.pyTuple([');
    children.forEach((child, i) => {
      if (i > 0) this._emit(',');
      this._compileExpression(child, frame);
    });
    this._emit('])');
  };
}

/** `{% set ns.attr = value %}`: nunjucks parses the target as a lookup and has no way to compile it. */
function installAttributeSet(proto: Record<string, unknown>): void {
  const compileSet = proto.compileSet as (this: CompilerInternals, node: Node, frame: unknown) => void;
  proto.compileSet = function compileSetAttribute(this: CompilerInternals, node: Node, frame: unknown) {
    const targets = node.targets as Node[];
    const attribute = targets.find((target) => target.typename === 'LookupVal');
    if (attribute === undefined) return compileSet.call(this, node, frame);
    if (targets.length !== 1 || !node.value) throw new Error('{% set ns.attr = … %} takes one target and a value');
    this._emit('runtime.jinjaSetAttribute(');
    this._compileExpression(attribute.target, frame);
    this._emit(',');
    this._compileExpression(attribute.val, frame);
    this._emit(',');
    this._compileExpression(node.value, frame);
    this._emitLine(');');
  };
}

/** How values print, what a member lookup finds and what `in` and a loop see: Python's, not JavaScript's. */
function installPythonValues(runtime: Record<string, unknown>): void {
  Object.assign(runtime, {
    pyAdd,
    pySub,
    pyMul,
    pyDiv,
    pyFloorDiv,
    pyMod,
    pyPow,
    pyStr,
    pyEquals,
    pyTuple,
    loopFilter,
    pyDict,
    pySpread,
    pyKeywords,
    pyFloat,
    pyNeg,
  });
  const suppressValue = runtime.suppressValue as (value: unknown, autoescape: boolean) => unknown;
  runtime.suppressValue = (value: unknown, autoescape: boolean) =>
    suppressValue(value instanceof (runtime.SafeString as typeof Object) || typeof value === 'string' ? value : pyStr(value), autoescape);
  // Jinja prints none as None; only an undefined name is an error to print (meterflow is strict there)
  const ensureDefined = runtime.ensureDefined as (value: unknown, lineno: number, colno: number) => unknown;
  runtime.ensureDefined = (value: unknown, lineno: number, colno: number) => (value === null ? value : ensureDefined(value, lineno, colno));
  const memberLookup = runtime.memberLookup as (obj: unknown, key: unknown) => unknown;
  // four arguments: a slice, `x[start:stop:step]` (the parser of nunjucks' Jinja compatibility)
  runtime.memberLookup = (obj: unknown, key: unknown, ...slice: unknown[]) => {
    // Jinja's Undefined has no attributes: `x.y` of an undefined x is an error, not another undefined
    if (obj === undefined) throw new Error(`an undefined value has no attribute ${pyStr(key)}`);
    if (slice.length === 2) return pySlice(obj, key, slice[0], slice[1]);
    checkAttribute(unwrap(obj), key);
    // a namespace's attributes are its own (`ns.items` is a list it holds, not a dict's method)
    if (obj instanceof JinjaNamespace) return (obj as unknown as Record<string, unknown>)[pyStr(key)];
    // a dict's own key is its value (`d['items']`), before the methods nunjucks' compatibility adds
    const plain = unwrap(obj);
    if (typeof key === 'string' && isDict(plain) && Object.prototype.hasOwnProperty.call(plain, key)) return plain[key];
    const found = pythonMethod(obj, key) ?? negativeIndex(obj, key) ?? memberLookup(obj, key);
    // nunjucks hands out a method as a wrapper: a function with members of its own (datetime.date,
    // which has date.today) keeps them
    const member =
      obj !== null && (typeof obj === 'object' || typeof obj === 'function') ? (obj as Record<string, unknown>)[String(key)] : undefined;
    if (typeof found === 'function' && typeof member === 'function' && found !== member) Object.assign(found, member);
    return found;
  };
  runtime.inOperator = pyIn;
  runtime.fromIterator = loopItems;
  // a name every JavaScript object answers (`constructor`) is a variable only where it was set
  // (`caller` in a macro called by {% call %}), never what an object inherits
  const contextOrFrameLookup = runtime.contextOrFrameLookup as (context: unknown, frame: unknown, name: string) => unknown;
  runtime.contextOrFrameLookup = (context: unknown, frame: unknown, name: string) =>
    unsafeName(name) ? ownVariable(context as LookupContext, frame as LookupFrame, name) : contextOrFrameLookup(context, frame, name);
}

interface LookupFrame {
  readonly variables?: Record<string, unknown>;
  readonly parent?: LookupFrame | null;
}
interface LookupContext {
  readonly ctx?: Record<string, unknown>;
  readonly env?: { readonly globals?: Record<string, unknown> };
}

/** A variable set in a frame, the context or the globals as their own entry; undefined otherwise. */
function ownVariable(context: LookupContext, frame: LookupFrame | null | undefined, name: string): unknown {
  const own = (holder: Record<string, unknown> | undefined) => holder !== undefined && Object.prototype.hasOwnProperty.call(holder, name);
  for (let at = frame; at; at = at.parent) if (own(at.variables)) return at.variables?.[name];
  if (own(context.ctx)) return context.ctx?.[name];
  if (own(context.env?.globals)) return context.env?.globals?.[name];
  return undefined;
}

/** Arithmetic, `~` and comparisons as Python's: `+` of lists, `'x' * 3`, `'%s' % x`, `1 < x < 3`, `==` by value. */
function installPythonOperators(proto: Record<string, unknown>): void {
  const call = (fn: string) =>
    function compileCall(this: CompilerInternals, node: Node, frame: unknown) {
      // the line and column first (from 1), as nunjucks' own calls set them, so that a TypeError names its place
      this._emit(`(lineno = ${Number(node.lineno) + 1}, colno = ${Number(node.colno) + 1}, runtime.${fn}(`);
      this.compile(node.left, frame);
      this._emit(',');
      this.compile(node.right, frame);
      this._emit('))');
    };
  proto.compileAdd = call('pyAdd');
  proto.compileSub = call('pySub');
  proto.compileMul = call('pyMul');
  proto.compileDiv = call('pyDiv');
  proto.compileFloorDiv = call('pyFloorDiv');
  proto.compileMod = call('pyMod');
  proto.compilePow = call('pyPow');
  proto.compileNeg = function compileNeg(this: CompilerInternals, node: Node, frame: unknown) {
    this._emit('runtime.pyNeg(');
    this.compile(node.target, frame);
    this._emit(')');
  };
  proto.compileConcat = function compileConcat(this: CompilerInternals, node: Node, frame: unknown) {
    this._emit('(runtime.pyStr(');
    this.compile(node.left, frame);
    this._emit(') + runtime.pyStr(');
    this.compile(node.right, frame);
    this._emit('))');
  };
  // `a < b < c` is `a < b and b < c`, each operand evaluated once; == and != compare by value
  proto.compileCompare = function compileCompare(this: CompilerInternals, node: Node, frame: unknown) {
    const ops = node.ops as Node[];
    this._emit('(function(v0){var l=v0,r;return ');
    ops.forEach((op, i) => {
      this._emit(i === 0 ? '(' : '&&(l=r,');
      this._emit('r=(');
      this.compile(op.expr, frame);
      const type = op.type as string;
      if (type === '==' || type === '===') this._emit('),runtime.pyEquals(l,r))');
      else if (type === '!=' || type === '!==') this._emit('),!runtime.pyEquals(l,r))');
      else this._emit(`),l ${type} r)`);
    });
    this._emit(';})(');
    this.compile(node.expr, frame);
    this._emit(')');
  };
}

/**
 * dbt's `{{ return(value) }}`: the macro ends there and gives the value. return() throws a
 * MacroReturn; every macro catches its own, and restores the frame of its caller however it ends
 * (nunjucks restores it only on a normal end, leaving the caller's variables lost after a throw).
 */
function installMacroReturn(proto: Record<string, unknown>, runtime: Record<string, unknown>): void {
  const emitLines = proto._emitLines as (this: CompilerInternals, ...lines: string[]) => void;
  proto._emitLines = function emitLinesGuarded(this: CompilerInternals, ...lines: string[]) {
    emitLines.apply(this, lines);
    if (lines.includes('var callerFrame = frame;')) {
      this._emitLine('try {');
      this._emitLine('frame.set("varargs", kwargs.__varargs || []); frame.set("kwargs", kwargs.__kwargs || {});');
    }
  };
  const emitLine = proto._emitLine as (this: CompilerInternals, line: string) => void;
  proto._emitLine = function emitLineGuarded(this: CompilerInternals, line: string) {
    if (line.startsWith('return new runtime.SafeString(')) emitLine.call(this, '} finally { frame = callerFrame; }');
    emitLine.call(this, line);
  };
  const makeMacro = runtime.makeMacro as (...args: unknown[]) => (...args: unknown[]) => unknown;
  runtime.makeMacro = (argNames: string[], kwargNames: string[], func: unknown) => {
    const macro = makeMacro(argNames, kwargNames, func);
    return function returning(this: unknown, ...callArgs: unknown[]) {
      try {
        return macro.apply(this, withExtraArguments(callArgs, [...argNames, ...kwargNames]));
      } catch (err) {
        if (err instanceof MacroReturn) return err.value;
        throw err;
      }
    };
  };
}

/** Jinja's `varargs` and `kwargs` in a macro: the positional and keyword arguments beyond its own. */
function withExtraArguments(args: unknown[], names: readonly string[]): unknown[] {
  const { positional, keywords } = splitCall(args);
  const extraKeywords = Object.fromEntries(Object.entries(keywords).filter(([name]) => !names.includes(name) && name !== 'caller'));
  const varargs = positional.slice(names.length);
  if (varargs.length === 0 && Object.keys(extraKeywords).length === 0) return args;
  return [...positional.slice(0, names.length), { ...keywords, __keywords: true, __varargs: varargs, __kwargs: extraKeywords }];
}

/**
 * Two places where nunjucks' compiler fails on templates Jinja takes: a macro whose name begins
 * with `_` is not exported from its file (dbt_utils' `_is_relation`), and a call's name, written into
 * the compiled JavaScript for its error message, breaks it when it holds a newline (a multi-line
 * string's `.format(…)`) or is none.
 */
function installCompilerFixes(proto: Record<string, unknown>): void {
  proto.compileMacro = function compileMacroExported(
    this: CompilerInternals & Record<string, unknown>,
    node: Node,
    frame: CompileFrame & { parent?: unknown },
  ) {
    const funcId = (this._compileMacro as (node: Node) => string)(node);
    const name = (node.name as Node).value as string;
    frame.set(name, funcId);
    if (frame.parent) {
      this._emitLine(`frame.set("${name}", ${funcId});`);
    } else {
      this._emitLine(`context.addExport("${name}");`);
      this._emitLine(`context.setVariable("${name}", ${funcId});`);
    }
  };
  const nodeName = (node: Node): string => {
    switch (node.typename) {
      case 'Symbol':
        return String(node.value);
      case 'FunCall':
        return `the return value of (${nodeName(node.name as Node)})`;
      case 'LookupVal':
        return `${nodeName(node.target as Node)}["${nodeName(node.val as Node)}"]`;
      case 'Literal':
        return String(node.value)
          .replace(/[\r\n\u2028\u2029\\]/g, ' ')
          .slice(0, 60);
      default:
        return '--expression--';
    }
  };
  proto._getNodeName = nodeName;
}

/**
 * Jinja's loop helpers that nunjucks lacks: `loop.cycle(…)`, `loop.previtem`, `loop.nextitem`,
 * `loop.changed(…)` and `loop.depth`/`depth0` (1 and 0: meterflow has no recursive loops).
 */
function installLoopHelpers(proto: Record<string, unknown>, runtime: Record<string, unknown>): void {
  runtime.loopCycle =
    (index: number) =>
    (...values: unknown[]) =>
      values.length === 0 ? undefined : values[index % values.length];
  runtime.loopChanged =
    (state: { seen?: boolean; last?: string }) =>
    (...values: unknown[]) => {
      const key = JSON.stringify(values);
      if (state.seen && state.last === key) return false;
      state.seen = true;
      state.last = key;
      return true;
    };
  const emitLoopBindings = proto._emitLoopBindings as (this: CompilerInternals, node: Node, arr: string, i: string, len: string) => void;
  let loops = 0;
  proto._emitLoopBindings = function emitJinjaLoopBindings(this: CompilerInternals, node: Node, arr: string, i: string, len: string) {
    emitLoopBindings.call(this, node, arr, i, len);
    const state = `meterflow_loop_${loops++}`;
    this._emitLine(`var ${state} = (${i} === 0 ? {} : ${state});`);
    this._emitLine(`frame.set("loop.cycle", runtime.loopCycle(${i}));`);
    this._emitLine(`frame.set("loop.changed", runtime.loopChanged(${state}));`);
    this._emitLine(`frame.set("loop.previtem", ${i} > 0 ? ${arr}[${i} - 1] : undefined);`);
    this._emitLine(`frame.set("loop.nextitem", ${i} < ${len} - 1 ? ${arr}[${i} + 1] : undefined);`);
    this._emitLine('frame.set("loop.depth", 1); frame.set("loop.depth0", 0);');
  };
}
