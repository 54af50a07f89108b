// Where nunjucks' parser reads Jinja otherwise than Jinja: a call's `*list`, `**dict` and trailing
// comma, a list's or dict's trailing comma and expression keys, `{% set x -%}`'s trim, a test's argument without parentheses, whole float literals, and Python's number literals and nested dicts to the tokenizer. Installed by
// jinja-semantics.ts with its compiler patches.
import type { CompilerInternals, Node, NodeClass } from './jinja-semantics';

interface Token {
  readonly type: string;
  readonly value: string;
  readonly lineno: number;
  readonly colno: number;
}
type NodeConstructor = new (lineno: unknown, colno: unknown, ...fields: unknown[]) => Node & { addChild(child: unknown): void };
interface ParserInternals {
  parseCompare(): Node;
  parsePrimary(): Node;
  parseSignature(tolerant?: boolean, noParens?: boolean): Node;
  skipSymbol(name: string): boolean;
  peekToken(): Token;
  nextToken(): Token;
  skip(type: string): boolean;
  fail(message: string, lineno?: number, colno?: number): never;
  parseExpression(): Node;
  skipValue(type: string, value: string): boolean;
}
export interface NunjucksInternals {
  parser: { Parser: { prototype: Record<string, unknown> } };
  lexer: Record<string, string>;
  nodes: {
    Node: NodeClass;
    NodeList: NodeConstructor;
    KeywordArgs: NodeConstructor;
    Pair: NodeConstructor;
    Is: NodeConstructor;
    Not: NodeConstructor;
    Symbol: NodeConstructor;
    FunCall: NodeConstructor;
    Literal: NodeConstructor;
    Dict: NodeConstructor;
    Array: NodeConstructor;
  };
}

/**
 * A float literal stays a float where its value is whole (`2.0`, `10.0`): nunjucks' parser reads it
 * as the number 2, which prints `2`. The literal is marked, and compiled as a boxed float (PyFloat).
 */
export function installFloatLiterals({ parser, lexer, nodes }: NunjucksInternals, proto: Record<string, unknown>): void {
  const parserProto = parser.Parser.prototype;
  const parsePrimary = parserProto.parsePrimary as (this: ParserInternals, noPostfix?: boolean) => Node;
  parserProto.parsePrimary = function parsePrimaryFloat(this: ParserInternals, noPostfix?: boolean) {
    const token = this.peekToken();
    const node = parsePrimary.call(this, noPostfix);
    if (token?.type !== lexer.TOKEN_FLOAT) return node;
    // the literal itself, or (with a postfix, `2.0.real`) the one inside at the token's place
    const found = node instanceof nodes.Literal ? [node] : (node as Node & { findAll(type: unknown): Node[] }).findAll(nodes.Literal);
    for (const literal of found) if (literal.lineno === token.lineno && literal.colno === token.colno) literal.pyFloat = true;
    return node;
  };
  const compileLiteral = proto.compileLiteral as (this: CompilerInternals, node: Node, frame: unknown) => void;
  proto.compileLiteral = function compileFloatLiteral(this: CompilerInternals, node: Node, frame: unknown) {
    if (node.pyFloat === true && Number.isInteger(node.value)) return this._emit(`runtime.pyFloat(${String(node.value)})`);
    return compileLiteral.call(this, node, frame);
  };
}

/**
 * A call's arguments as Jinja takes them: a trailing comma (`f(a, b,)`), and `*list` and `**dict`
 * spread into the positional and keyword arguments (`f(*varargs, **kwargs)`, as dbt_utils forwards
 * them). nunjucks' parseSignature takes neither; this one is it with both.
 */
export function installCallSpreads(nunjucksInternals: NunjucksInternals, proto: Record<string, unknown>): void {
  const { lexer, nodes } = nunjucksInternals;
  const Spread = nodes.Node.extend('MeterflowSpread', { fields: ['value', 'keywords'] });
  proto.compileMeterflowSpread = function compileSpread(this: CompilerInternals, node: Node, frame: unknown) {
    this._emit(node.keywords ? '...runtime.pyKeywords(' : '...runtime.pySpread(');
    this._compileExpression(node.value, frame);
    this._emit(')');
  };
  const parserProto = nunjucksInternals.parser.Parser.prototype;
  installSetBlockTrim(parserProto, lexer);
  installTestArguments(parserProto, nunjucksInternals);
  installTrailingCommas(parserProto, nunjucksInternals);
  const parseSignature = parserProto.parseSignature as (this: ParserInternals, tolerant?: boolean, noParens?: boolean) => unknown;
  parserProto.parseSignature = function parseSignatureWithSpreads(this: ParserInternals, tolerant?: boolean, noParens?: boolean) {
    // a macro's own signature ({% macro m(a, b=1) %}) and bare calls keep nunjucks' parsing
    if (noParens || this.peekToken().type !== lexer.TOKEN_LEFT_PAREN) return parseSignature.call(this, tolerant, noParens);
    const open = this.nextToken();
    const args = new nodes.NodeList(open.lineno, open.colno);
    const kwargs = new nodes.KeywordArgs(open.lineno, open.colno);
    for (let first = true; ; first = false) {
      if (this.skip(lexer.TOKEN_RIGHT_PAREN as string)) break;
      if (!first && !this.skip(lexer.TOKEN_COMMA as string)) {
        const at = this.peekToken();
        this.fail('parseSignature: expected comma after expression', at.lineno, at.colno);
      }
      if (this.skip(lexer.TOKEN_RIGHT_PAREN as string)) break;
      const at = this.peekToken();
      if (this.skipValue(lexer.TOKEN_OPERATOR as string, '**')) {
        kwargs.addChild(new Spread(at.lineno, at.colno, this.parseExpression(), true));
      } else if (this.skipValue(lexer.TOKEN_OPERATOR as string, '*')) {
        args.addChild(new Spread(at.lineno, at.colno, this.parseExpression(), false));
      } else {
        const arg = this.parseExpression();
        if (this.skipValue(lexer.TOKEN_OPERATOR as string, '='))
          kwargs.addChild(new nodes.Pair(arg.lineno, arg.colno, arg, this.parseExpression()));
        else args.addChild(arg);
      }
    }
    if ((kwargs.children as unknown[]).length > 0) args.addChild(kwargs);
    return args;
  };
}

/**
 * `{% set x -%}…{% endset %}`: the tag's `-` trims the captured text's leading whitespace, as in
 * Jinja. nunjucks' parseSet consumes that tag's end without looking at its `-`.
 */
function installSetBlockTrim(parserProto: Record<string, unknown>, lexer: Record<string, string>): void {
  const parseSet = parserProto.parseSet as (this: ParserInternals & { inSet?: boolean }) => unknown;
  parserProto.parseSet = function parseSetTrimmed(this: ParserInternals & { inSet?: boolean }) {
    this.inSet = true;
    try {
      return parseSet.call(this);
    } finally {
      this.inSet = false;
    }
  };
  const skip = parserProto.skip as (this: ParserInternals & { inSet?: boolean; dropLeadingWhitespace?: boolean }, type: string) => boolean;
  parserProto.skip = function skipTrimming(this: ParserInternals & { inSet?: boolean; dropLeadingWhitespace?: boolean }, type: string) {
    const token = this.inSet && type === lexer.TOKEN_BLOCK_END ? this.peekToken() : undefined;
    const skipped = skip.call(this, type);
    if (skipped && token !== undefined && token.type === lexer.TOKEN_BLOCK_END && token.value.startsWith('-')) {
      this.inSet = false;
      this.dropLeadingWhitespace = true;
    }
    return skipped;
  };
}

/**
 * A test's argument written without parentheses, as Jinja allows (`x is divisibleby 3`,
 * `x is eq 1`, `x is in [1, 2]`); nunjucks parsed the test's name as an expression and stopped.
 */
function installTestArguments(parserProto: Record<string, unknown>, { lexer, nodes }: NunjucksInternals): void {
  const startsArgument = (token: Token) =>
    ['int', 'float', 'string', 'boolean', 'none', 'left-bracket', 'left-curly'].includes(token.type) ||
    (token.type === lexer.TOKEN_SYMBOL && !['and', 'or', 'else', 'if', 'not', 'in', 'is'].includes(token.value));
  parserProto.parseIs = function parseIsWithArgument(this: ParserInternals) {
    let node = this.parseCompare();
    if (!this.skipSymbol('is')) return node;
    const not = this.skipSymbol('not');
    const name = this.nextToken();
    // `is none`, `is true`: the lexer reads those names as literals
    if (![lexer.TOKEN_SYMBOL, 'none', 'boolean'].includes(name.type)) this.fail('expected a test name after is', name.lineno, name.colno);
    const symbol = new nodes.Symbol(name.lineno, name.colno, name.value);
    let test: Node = symbol;
    if (this.peekToken().type === lexer.TOKEN_LEFT_PAREN) {
      test = new nodes.FunCall(name.lineno, name.colno, symbol, this.parseSignature());
    } else if (startsArgument(this.peekToken())) {
      test = new nodes.FunCall(name.lineno, name.colno, symbol, new nodes.NodeList(name.lineno, name.colno, [this.parsePrimary()]));
    }
    node = new nodes.Is(node.lineno, node.colno, node, test);
    return not ? new nodes.Not(node.lineno, node.colno, node) : node;
  };
}

/**
 * A list's or dict's trailing comma (`[1, 2,]`, `{"a": 1,}`), as Jinja allows and dbt packages write
 * (dbt_date's tables of month names), and a dict key that is an expression (`{k | lower: v}`,
 * audit_helper's): where nunjucks' parseAggregate fails, the literal is read again this way.
 */
function installTrailingCommas(parserProto: Record<string, unknown>, { lexer, nodes }: NunjucksInternals): void {
  const closing = [lexer.TOKEN_RIGHT_BRACKET, lexer.TOKEN_RIGHT_CURLY];
  const opening = [lexer.TOKEN_LEFT_BRACKET, lexer.TOKEN_LEFT_CURLY];
  type Parsing = ParserInternals & { tokens: Record<string, unknown>; peeked: unknown };
  // (nunjucks' own, wrapped by its Jinja compatibility for slices: tried first, as is)
  const parseAggregate = parserProto.parseAggregate as (this: Parsing) => Node | null;
  parserProto.parseAggregate = function parseAggregateTrailingComma(this: Parsing) {
    // (the tokenizer's whole state: its place, and whether it is in code)
    const tokenizer = { ...this.tokens };
    const peeked = this.peeked;
    try {
      return parseAggregate.call(this);
    } catch (err) {
      // a trailing comma: read again from the opening bracket
      Object.assign(this.tokens, tokenizer);
      this.peeked = peeked;
      if (!opening.includes(this.peekToken().type)) throw err;
    }
    const open = this.nextToken();
    const dict = open.type === lexer.TOKEN_LEFT_CURLY;
    const node = new (dict ? nodes.Dict : nodes.Array)(open.lineno, open.colno);
    for (let first = true; ; first = false) {
      if (closing.includes(this.peekToken().type)) {
        this.nextToken();
        break;
      }
      if (!first && !this.skip(lexer.TOKEN_COMMA as string))
        this.fail('parseAggregate: expected comma after expression', open.lineno, open.colno);
      // (the comma was the last)
      if (closing.includes(this.peekToken().type)) continue;
      if (dict) {
        // (a key is any expression in Jinja: `{k | lower: v}`; nunjucks read a primary one)
        const key = this.parseExpression();
        if (!this.skip(lexer.TOKEN_COLON as string)) this.fail('parseAggregate: expected colon after dict key', open.lineno, open.colno);
        node.addChild(new nodes.Pair(key.lineno, key.colno, key, this.parseExpression()));
      } else node.addChild(this.parseExpression());
    }
    return node;
  };
}

interface TokenizerState {
  str: string;
  index: number;
  in_code: boolean;
  isFinished(): boolean;
  current(): string;
  forward(): void;
  /** `{` opened and not closed in the tag being read (Jinja's lexer counts them; nunjucks' does not). */
  curlies?: number;
  back(): void;
  forwardN(n: number): void;
}

/** A Python number literal at the start of a text: decimal with `_`, a fraction, an exponent; or 0x, 0o, 0b. */
const PYTHON_NUMBER = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9][0-9_]*)?)/;

/**
 * A number token read as Python reads the literal: nunjucks stops an int at a letter or `_` and a
 * float after its fraction, so `1e6` and `1_000` were names (undefined: `{{ 1e6 }}` printed nothing)
 * and `1.5e-7` failed. The token's text is read again from its start, and taken where it is longer.
 */
function pythonNumber(tokenizer: TokenizerState, token: Token, lexer: Record<string, string>): Token {
  const start = tokenizer.index - token.value.length;
  const literal = PYTHON_NUMBER.exec(tokenizer.str.slice(start))?.[0] ?? '';
  if (!literal.startsWith(token.value) || (literal === token.value && !/[_xXoObBeE]/.test(literal))) return token;
  tokenizer.forwardN(literal.length - token.value.length);
  const digits = literal.replace(/_/g, '');
  if (/^0[xXoObB]/.test(digits)) return { ...token, type: lexer.TOKEN_INT as string, value: BigInt(digits).toString() };
  return { ...token, type: (/[.eE]/.test(digits) ? lexer.TOKEN_FLOAT : lexer.TOKEN_INT) as string, value: digits };
}

/** Python's one-character escapes (a backslash before a newline joins the lines). */
const ESCAPES: Readonly<Record<string, string>> = {
  '\n': '',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * A string literal's text as Python reads it (Jinja's lexer decodes it with `unicode-escape`): `\n`,
 * `\t`, octal, `\xhh`, `\uhhhh` and `\Uhhhhhhhh` decoded, and an escape Python does not know kept with
 * its backslash, so `'\s+'` is the regular expression it reads as in dbt (nunjucks dropped the
 * backslash: `'s+'`). `\N{name}` is refused: there is no table of names here.
 */
export function pythonUnescape(raw: string): string {
  return raw.replace(
    /\\(?:([0-7]{1,3})|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(N\{[^}]*\})|([\s\S]))/g,
    (all, octal?: string, hex?: string, short?: string, long?: string, named?: string, other?: string) => {
      if (octal !== undefined) return String.fromCodePoint(Number.parseInt(octal, 8));
      const code = hex ?? short ?? long;
      if (code !== undefined) return String.fromCodePoint(Number.parseInt(code, 16));
      if (named !== undefined) throw new Error(`the escape \\${named} is not supported: write the character itself`);
      return ESCAPES[other as string] ?? all;
    },
  );
}

/**
 * Where nunjucks' tokenizer reads Jinja otherwise than Jinja: string literals' escapes (pythonUnescape),
 * Python's number literals (pythonNumber),
 * and `}}` closing two dicts inside a tag (`{% set d = {'a': {'b': 1}} %}`), which nunjucks took for
 * the end of a `{{ }}` (a parse error); Jinja's lexer counts the braces, and so does this.
 */
export function installPythonLexing({ lexer }: NunjucksInternals): void {
  const tokenizer = Object.getPrototypeOf((lexer as unknown as { lex(src: string): object }).lex('')) as Record<string, unknown>;
  const nextToken = tokenizer.nextToken as (this: TokenizerState) => Token | null;
  tokenizer._parseString = function parsePythonString(this: TokenizerState, delimiter: string) {
    this.forward();
    let raw = '';
    while (!this.isFinished() && this.current() !== delimiter) {
      // (an escaped character, the delimiter too, is kept for pythonUnescape)
      if (this.current() === '\\') {
        raw += this.current();
        this.forward();
      }
      raw += this.current();
      this.forward();
    }
    this.forward();
    return pythonUnescape(raw);
  };
  const numeric = [lexer.TOKEN_INT, lexer.TOKEN_FLOAT, lexer.TOKEN_SYMBOL];
  tokenizer.nextToken = function nextPythonToken(this: TokenizerState) {
    const token = nextToken.call(this);
    if (token === null) return token;
    if (token.type === lexer.TOKEN_BLOCK_START || token.type === lexer.TOKEN_VARIABLE_START) this.curlies = 0;
    else if (token.type === lexer.TOKEN_LEFT_CURLY) this.curlies = (this.curlies ?? 0) + 1;
    else if (token.type === lexer.TOKEN_RIGHT_CURLY) this.curlies = (this.curlies ?? 0) - 1;
    else if (token.type === lexer.TOKEN_VARIABLE_END && token.value === '}}' && (this.curlies ?? 0) > 0) {
      // a dict's `}` inside the tag: the second `}` is read next, still in code
      this.back();
      this.in_code = true;
      this.curlies = (this.curlies ?? 0) - 1;
      return { ...token, type: lexer.TOKEN_RIGHT_CURLY as string, value: '}' };
    }
    return numeric.includes(token.type) && /^[0-9]/.test(token.value) ? pythonNumber(this, token, lexer) : token;
  };
}
