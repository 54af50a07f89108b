// Whether a model, analytics model or singular test is up to date: decided from what its *published*
// version was built from (its definition and the versions of its inputs), never from what this run
// happened to load. Pure, so the rules are tested without a server.
import type { BuiltState, EventWindow } from '../contract/activities';
export type { BuiltState };
import { spanningWindow } from '../contract/time';

/** An input of a node as this run sees it. */
export interface InputVersion {
  /** The version the node reads now: the published one, or the one this run loaded or rebuilt. */
  readonly current: string | undefined;
  /** The published version when this run started. */
  readonly before: string | undefined;
  /** How this run changed it: over a window of event times, or `all`; absent when it did not. */
  readonly changedOver?: EventWindow | 'all';
}

export type Verdict =
  | { readonly upToDate: true }
  /** Rebuild: whole, or (`window` set) only over the event times that changed upstream. */
  | { readonly upToDate: false; readonly reason: string; readonly window?: EventWindow };

export interface JudgeInput {
  /** What the published version was built from; undefined when nothing is published. */
  readonly built: BuiltState | undefined;
  /** The node's definition now. */
  readonly stateHash: string | undefined;
  readonly inputs: Readonly<Record<string, InputVersion>>;
  readonly fullRefresh?: boolean;
  /** Whether the node may be rebuilt over a window of event times only (an incremental model, a test). */
  readonly windowed?: boolean;
}

/** The inputs' versions as recorded at publish. */
export function inputVersions(inputs: Readonly<Record<string, InputVersion>>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).flatMap(([id, input]) => (input.current === undefined ? [] : [[id, input.current]])));
}

/**
 * Up to date when the published version was built from this definition and these input versions.
 * Otherwise rebuilt over a window only when every input that differs is one this run changed over a
 * window, starting from the very version the published node was built from; any other difference
 * (an earlier run that failed after loading, a model published alone by a selection) rebuilds it whole.
 */
export function judge({ built, stateHash, inputs, fullRefresh = false, windowed = false }: JudgeInput): Verdict {
  if (fullRefresh) return { upToDate: false, reason: 'full refresh' };
  if (!built) return { upToDate: false, reason: 'not built yet' };
  if (built.stateHash !== stateHash) return { upToDate: false, reason: 'its definition changed' };
  if (!built.inputs) return { upToDate: false, reason: 'built before input versions were recorded' };
  const recorded = built.inputs;
  const differing = Object.entries(inputs).filter(([id, input]) => input.current === undefined || recorded[id] !== input.current);
  const dropped = Object.keys(recorded).filter((id) => !(id in inputs));
  if (differing.length === 0 && dropped.length === 0) return { upToDate: true };
  const names = [...differing.map(([id]) => id), ...dropped].join(', ');
  const reason = `changed since it was built: ${names}`;
  if (!windowed || dropped.length > 0) return { upToDate: false, reason };
  const windows: EventWindow[] = [];
  for (const [id, input] of differing) {
    // only a change this run made, on top of exactly what the published node read, is known to lie in a window
    if (input.changedOver === undefined || input.changedOver === 'all' || recorded[id] !== input.before) {
      return { upToDate: false, reason };
    }
    windows.push(input.changedOver);
  }
  const window = spanningWindow(windows);
  return window ? { upToDate: false, reason, window } : { upToDate: false, reason };
}
