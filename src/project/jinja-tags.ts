// The tags dbt adds to Jinja (jinja2.ext.do and jinja2.ext.loopcontrols): `{% do expression %}`,
// `{% break %}` and `{% continue %}`, as nunjucks extensions.
import type nunjucks from 'nunjucks';
import { loopControls } from './jinja-semantics';

interface TagParser {
  nextToken(): { value: string; lineno: number; colno: number };
  parseExpression(): unknown;
  advanceAfterBlockEnd(name: string): void;
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

/** Add dbt's tags to an environment. */
export function installTags(environment: nunjucks.Environment): void {
  environment.addExtension('do', new DoTag());
  environment.addExtension('loopcontrols', new LoopControlTag());
}
