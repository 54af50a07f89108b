// The rules that decide whether a node is rebuilt, whole or over a window: pure, no server.
import { inputVersions, judge, type BuiltState, type InputVersion } from '../../src/workflows/up-to-date';

const day = { from: '2023-10-04 00:00:00', to: '2023-10-04 23:30:00' };
const built: BuiltState = { stateHash: 'h1', version: 'run-1', inputs: { 'seed:q4': 'v1', 'model:stg': 'run-1' } };
const unchanged = (version: string): InputVersion => ({ current: version, before: version });

describe('deciding whether a node is up to date', () => {
  it('is up to date when its definition and every input are those it was published from', () => {
    expect(judge({ built, stateHash: 'h1', inputs: { 'seed:q4': unchanged('v1'), 'model:stg': unchanged('run-1') } })).toEqual({
      upToDate: true,
    });
  });

  it('is rebuilt when an input changed before this run, even though this run changed nothing (a failed run loaded it)', () => {
    const verdict = judge({
      built,
      stateHash: 'h1',
      inputs: { 'seed:q4': unchanged('v2'), 'model:stg': unchanged('run-1') },
      windowed: true,
    });
    expect(verdict).toEqual({ upToDate: false, reason: 'changed since it was built: seed:q4' });
  });

  it('is rebuilt over the window when this run changed an input over a window, on top of what it was built from', () => {
    const verdict = judge({
      built,
      stateHash: 'h1',
      inputs: { 'seed:q4': { current: 'v2', before: 'v1', changedOver: day }, 'model:stg': unchanged('run-1') },
      windowed: true,
    });
    expect(verdict).toEqual({ upToDate: false, reason: 'changed since it was built: seed:q4', window: day });
  });

  it('is rebuilt whole when this run changed an input over a window but an earlier change was never published', () => {
    const verdict = judge({
      built,
      stateHash: 'h1',
      inputs: { 'seed:q4': { current: 'v3', before: 'v2', changedOver: day }, 'model:stg': unchanged('run-1') },
      windowed: true,
    });
    expect(verdict).toEqual({ upToDate: false, reason: 'changed since it was built: seed:q4' });
  });

  it('is rebuilt whole when the node may not be rebuilt over a window, or an input changed everywhere', () => {
    const windowChange: InputVersion = { current: 'v2', before: 'v1', changedOver: day };
    expect(judge({ built, stateHash: 'h1', inputs: { 'seed:q4': windowChange, 'model:stg': unchanged('run-1') } })).not.toHaveProperty(
      'window',
    );
    const everywhere: InputVersion = { current: 'v2', before: 'v1', changedOver: 'all' };
    expect(
      judge({ built, stateHash: 'h1', inputs: { 'seed:q4': everywhere, 'model:stg': unchanged('run-1') }, windowed: true }),
    ).not.toHaveProperty('window');
  });

  it('is rebuilt when its definition changed, it was never built, on a full refresh, or before versions were kept', () => {
    const inputs = { 'seed:q4': unchanged('v1'), 'model:stg': unchanged('run-1') };
    expect(judge({ built, stateHash: 'h2', inputs })).toMatchObject({ upToDate: false, reason: 'its definition changed' });
    expect(judge({ built: undefined, stateHash: 'h1', inputs })).toMatchObject({ upToDate: false, reason: 'not built yet' });
    expect(judge({ built, stateHash: 'h1', inputs, fullRefresh: true })).toMatchObject({ upToDate: false, reason: 'full refresh' });
    expect(judge({ built: { stateHash: 'h1' }, stateHash: 'h1', inputs })).toMatchObject({ upToDate: false });
  });

  it('is rebuilt when an upstream model is rebuilt by this run, or is missing', () => {
    const rebuiltUpstream = { 'seed:q4': unchanged('v1'), 'model:stg': { current: 'run-2', before: 'run-1', changedOver: 'all' as const } };
    expect(judge({ built, stateHash: 'h1', inputs: rebuiltUpstream })).toMatchObject({ upToDate: false });
    const missing = { 'seed:q4': unchanged('v1'), 'model:stg': { current: undefined, before: undefined } };
    expect(judge({ built, stateHash: 'h1', inputs: missing })).toMatchObject({ upToDate: false });
  });

  it('records the versions an input is read at, leaving out inputs that have none', () => {
    expect(inputVersions({ 'seed:q4': unchanged('v1'), 'model:stg': { current: undefined, before: undefined } })).toEqual({
      'seed:q4': 'v1',
    });
  });
});
