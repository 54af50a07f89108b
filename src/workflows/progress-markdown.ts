// The DAG's live state as markdown for the Web UI's "current details" of a run, narrow enough for
// its 540 px panel: a header, a line per node, then the notes worth reading. Pure workflow code.
import { countShownStates, shownStates, type ShownState } from '../contract/node-states';
import type { NodeProgress } from '../contract/run';

/** The widest line, in terminal-like columns (an emoji counts two): about what the panel shows. */
export const MARKDOWN_LINE_COLUMNS = 60;
/** Notes beyond this many are counted, not shown. */
const MAX_NOTES = 12;
/** A note longer than this many lines is cut. */
const MAX_NOTE_LINES = 4;

export const STATE_ICONS: Record<ShownState, string> = {
  pending: '⚪',
  queued: '⏳',
  running: '▶️',
  succeeded: '✅',
  unchanged: '➖',
  failed: '❌',
  skipped: '⏭️',
};

/** The order states are counted in the header: what happened, then what is going on, then what is to come. */
const HEADER_ORDER: readonly ShownState[] = ['failed', 'succeeded', 'unchanged', 'skipped', 'running', 'queued', 'pending'];

export interface ProgressContext {
  readonly kind: string;
  readonly logicalDate: string;
  /** Epoch milliseconds, workflow time: the run's start and now. */
  readonly startedAt: number;
  readonly now: number;
}

/** Columns a line takes: emoji and symbols two, the emoji variation selector none. */
export function columns(text: string): number {
  let width = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    width += code === 0xfe0f ? 0 : code >= 0x2190 ? 2 : 1;
  }
  return width;
}

/** `text` cut to `width` columns, ending with … when cut. */
function fit(text: string, width: number): string {
  if (columns(text) <= width) return text;
  let out = '';
  for (const char of text) {
    if (columns(out + char) > width - 1) break;
    out += char;
  }
  return `${out}…`;
}

/** Seconds as people read them: one decimal below ten. */
export function formatSeconds(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

/** Row counts short: 9,876, 12.3k, 4.56M (no Intl in workflow code). */
export function formatRows(rows: number): string {
  if (rows < 10_000) return String(rows).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (rows < 1_000_000) return `${(rows / 1000).toFixed(1)}k`;
  return `${(rows / 1_000_000).toFixed(2)}M`;
}

function runState(counts: ReadonlyMap<ShownState, number>): string {
  if (counts.get('failed')) return 'failed';
  return counts.get('running') || counts.get('queued') || counts.get('pending') ? 'running' : 'succeeded';
}

function nodeLine(node: NodeProgress, shown: ShownState, now: number): string {
  const details: string[] = [];
  if (shown === 'queued') details.push('queued');
  if (node.startedAt !== undefined && shown !== 'skipped' && shown !== 'unchanged') {
    details.push(formatSeconds((node.finishedAt ?? now) - node.startedAt));
  }
  if (shown === 'succeeded' && node.rows !== undefined && node.rows !== null) details.push(`${formatRows(node.rows)} rows`);
  const prefix = `- ${STATE_ICONS[shown]} `;
  const tail = details.map((detail) => ` · ${detail}`).join('');
  return `${prefix}${fit(node.id, MARKDOWN_LINE_COLUMNS - columns(prefix) - columns(tail))}${tail}`;
}

/** What a node has to say beyond its state: its error, or a note that is not routine. */
function noteWorthReading(node: NodeProgress): string | undefined {
  if (node.error) return node.error;
  if (node.warnings?.length) return [node.note, ...node.warnings].filter(Boolean).join('; ');
  if (!node.note || node.state === 'unchanged' || node.state === 'skipped') return undefined;
  // a seed's file counts and a test node's "n passed" are what the node's line already implies
  const note = node.note.replace(/^\d+ file\(s\) loaded, \d+ removed(, )?/, '');
  return note === '' || /^\d+ passed$/.test(note) || note === 'no new or changed files' ? undefined : note;
}

/** Words wrapped to `width` columns; a word longer than a line is split. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (columns(word) > width) {
      if (line) lines.push(line);
      line = '';
      const head = fit(word, width + 1).slice(0, -1); // the longest piece that fits, without the …
      lines.push(head);
      word = word.slice(head.length);
    }
    if (!line) line = word;
    else if (columns(`${line} ${word}`) <= width) line = `${line} ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** A note as a list item: `- id: text`, continued on indented lines, cut after MAX_NOTE_LINES. */
function noteLines(id: string, note: string): string[] {
  const lines = wrap(`${id}: ${note}`, MARKDOWN_LINE_COLUMNS - 2);
  const kept = lines.slice(0, MAX_NOTE_LINES);
  if (lines.length > MAX_NOTE_LINES) kept[kept.length - 1] = fit(`${kept[kept.length - 1]} …`, MARKDOWN_LINE_COLUMNS - 2);
  return kept.map((line, index) => (index === 0 ? `- ${line}` : `  ${line}`));
}

export function describeProgress(nodes: readonly NodeProgress[], run: ProgressContext): string {
  const shown = shownStates(nodes);
  const counts = countShownStates(shown);
  const tally = HEADER_ORDER.filter((state) => counts.get(state)).map((state) => `${STATE_ICONS[state]} ${counts.get(state)}`);
  const header = `**${runState(counts)}** · ${formatSeconds(run.now - run.startedAt)} · ${tally.join(' ')}`;
  const lines = nodes.map((node) => nodeLine(node, shown.get(node.id) ?? node.state, run.now));
  const notes = nodes
    .map((node) => ({ node, note: noteWorthReading(node) }))
    .filter((entry): entry is { node: NodeProgress; note: string } => entry.note !== undefined)
    // failures first: they are why the run stopped
    .sort((a, b) => Number(b.node.state === 'failed') - Number(a.node.state === 'failed'));
  const noteList = notes.slice(0, MAX_NOTES).flatMap(({ node, note }) => noteLines(node.id, note));
  if (notes.length > MAX_NOTES) noteList.push(`- … and ${notes.length - MAX_NOTES} more notes`);
  return [
    header,
    fit(`${run.kind} run · logical date ${run.logicalDate}`, MARKDOWN_LINE_COLUMNS),
    '',
    ...lines,
    ...(noteList.length > 0 ? ['', '**notes**', '', ...noteList] : []),
  ].join('\n');
}
