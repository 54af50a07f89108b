// The env_var() values a run's plan saw, as digests: a worker whose environment differs is refused,
// naming the variables and never their values.
import { environmentDigest, environmentDrift } from '../../src/project/environment';
import { refuseEnvironmentDrift } from '../../src/activities/run-scope';
import { EnvironmentMismatchError } from '../../src/errors';

describe("the environment a run's models read", () => {
  const planned = environmentDigest(['REGION', 'TIER', 'UNSET_THERE'], { REGION: 'north', TIER: 'gold', OTHER: 'x' });

  it('keeps a digest of each value (never the value), null where unset, and only of the names read', () => {
    expect(Object.keys(planned)).toEqual(['REGION', 'TIER', 'UNSET_THERE']);
    expect(planned.UNSET_THERE).toBeNull();
    expect(planned.REGION).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(planned)).not.toMatch(/north|gold/);
    // the name is part of the digest: two variables with one value do not share it
    expect(environmentDigest(['A', 'B'], { A: 'v', B: 'v' }).A).not.toBe(environmentDigest(['A', 'B'], { A: 'v', B: 'v' }).B);
  });

  it('finds every variable set otherwise, set on one side only, and nothing when they agree', () => {
    expect(environmentDrift(planned, { REGION: 'north', TIER: 'gold' })).toEqual([]);
    expect(environmentDrift(planned, { REGION: 'south', TIER: 'gold' })).toEqual(['REGION']);
    expect(environmentDrift(planned, { TIER: 'gold', UNSET_THERE: '' })).toEqual(['REGION', 'UNSET_THERE']);
  });

  it("refuses a worker's activity when they differ, naming the variables and the activity, not the values", () => {
    const scope = { env: planned };
    expect(() => refuseEnvironmentDrift(scope, 'buildMonth', { REGION: 'north', TIER: 'gold' })).not.toThrow();
    expect(() => refuseEnvironmentDrift({}, 'buildMonth', {})).not.toThrow();
    let refused: unknown;
    try {
      refuseEnvironmentDrift(scope, 'buildMonth', { REGION: 'south', UNSET_THERE: 'y' });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(EnvironmentMismatchError);
    expect((refused as EnvironmentMismatchError).variables).toEqual(['REGION', 'TIER', 'UNSET_THERE']);
    const { message } = refused as Error;
    expect(message).toContain('in REGION (another value), TIER (unset here), UNSET_THERE (unset where planned)');
    expect(message).toContain('its buildMonth activity would render other SQL than the rest of the run');
    expect(message).toContain('give every worker (writer, build and analytics) the same values');
    expect(message).not.toMatch(/north|south|gold/);
    // an activity that renders no model goes on (the report, the notice of the failed run)
    expect(() => refuseEnvironmentDrift(scope, 'renderReport', { REGION: 'south' })).not.toThrow();
    expect(() => refuseEnvironmentDrift(scope, 'notifyRun', {})).not.toThrow();
  });
});
