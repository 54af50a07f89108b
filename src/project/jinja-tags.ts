// The tags dbt adds to Jinja (jinja2.ext.do and jinja2.ext.loopcontrols): `{% do expression %}`,
// `{% break %}` and `{% continue %}`, and Jinja's `{% with %}`, as nunjucks extensions.
import type nunjucks from 'nunjucks';
import { loopControls } from './jinja-semantics';

interface TagParser {
  nextToken(): { value: string; lineno: number; colno: number };
  peekToken(): { type: string; value: string; lineno: number; colno: number };
  parseExpression(): unknown;
  parsePrimary(): { value?: unknown };
  parseUntilBlocks(...names: string[]): unknown;
  advanceAfterBlockEnd(name?: string): void;
  skip(type: string): boolean;
  skipValue(type: string, value: string): boolean;
  fail(message: string, lineno?: number, colno?: number): never;
}
interface TagNodes {
  CallExtension: new (extension: object, method: string, args: unknown) => unknown;
  NodeList: new (lineno: number, colno: number, children: unknown[]) => unknown;
}

/** `{% do expression %}`: evaluates the expression (`cols.append(c)`), prints nothing. */
class DoTag implements nunjucks.Extension {
  readonly tags = ['do'];
  parse(parser: TagParser, nodes: TagNodes): unknown {
    const tag = parser.nextToken();
    const expression = parser.parseExpression();
    parser.advanceAfterBlockEnd(tag.value);
    return new nodes.CallExtension(this, 'run', new nodes.NodeList(tag.lineno, tag.colno, [expression]));
  }
  run(): string {
    return '';
  }
}

/** `{% break %}` and `{% continue %}`: compiled to JavaScript's own, inside the loop nunjucks compiles. */
class LoopControlTag implements nunjucks.Extension {
  readonly tags = ['break', 'continue'];
  parse(parser: TagParser): unknown {
    const tag = parser.nextToken();
    parser.advanceAfterBlockEnd(tag.value);
    const node = loopControls[tag.value];
    if (!node) throw new Error(`unknown loop control ${tag.value}`);
    return new node(tag.lineno, tag.colno);
  }
}

/** `{% with a = 1, b = x %}…{% endwith %}`: names set for the block alone. */
class WithTag implements nunjucks.Extension {
  readonly tags = ['with'];
  parse(parser: TagParser): unknown {
    const tag = parser.nextToken();
    const names: string[] = [];
    const values: unknown[] = [];
    while (parser.peekToken().type !== 'block-end') {
      if (names.length > 0 && !parser.skip('comma')) parser.fail('expected a comma between assignments in with', tag.lineno, tag.colno);
      const name = parser.nextToken();
      if (!parser.skipValue('operator', '=')) parser.fail('expected name = value in with', name.lineno, name.colno);
      names.push(name.value);
      values.push(parser.parseExpression());
    }
    parser.advanceAfterBlockEnd(tag.value);
    const body = parser.parseUntilBlocks('endwith');
    parser.advanceAfterBlockEnd();
    const node = loopControls.with as unknown as new (lineno: number, colno: number, ...fields: unknown[]) => unknown;
    return new node(tag.lineno, tag.colno, names, values, body);
  }
}

/** Add dbt's tags to an environment. */
export function installTags(environment: nunjucks.Environment): void {
  environment.addExtension('do', new DoTag());
  environment.addExtension('loopcontrols', new LoopControlTag());
  environment.addExtension('with', new WithTag());
}
