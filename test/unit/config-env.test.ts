// The environment variables that move meterflow's folders: set but empty, or a lake data path each
// worker would read from its own folder, is an error naming the variable, not a silent default.
import path from 'node:path';
import { defaultLakeDataPath, defaultOutUri, defaultProjectDir, defaultWarehousePath, stateDir } from '../../src/config';

describe("the environment's folders", () => {
  it('take a set value, and default when unset', () => {
    expect(stateDir({ METERFLOW_HOME: '/srv/mf' })).toBe('/srv/mf');
    expect(stateDir({})).toBe(path.resolve('.meterflow'));
    expect(defaultWarehousePath({ METERFLOW_HOME: '/srv/mf' })).toBe('/srv/mf/warehouse');
    expect(defaultOutUri({ METERFLOW_OUT: 's3://b/out' })).toBe('s3://b/out');
    expect(defaultLakeDataPath({ METERFLOW_LAKE_DATA: 's3://b/lake/' })).toBe('s3://b/lake/');
    expect(defaultLakeDataPath({})).toBeUndefined();
  });

  it('refuse a variable set but empty, naming it', () => {
    const cases: [string, (env: NodeJS.ProcessEnv) => unknown][] = [
      ['METERFLOW_HOME', stateDir],
      ['METERFLOW_WAREHOUSE', defaultWarehousePath],
      ['METERFLOW_CATALOG', defaultWarehousePath],
      ['METERFLOW_OUT', defaultOutUri],
      ['METERFLOW_PROJECT_DIR', defaultProjectDir],
      ['METERFLOW_LAKE_DATA', defaultLakeDataPath],
    ];
    for (const [name, read] of cases) {
      expect(() => read({ [name]: ' ' })).toThrow(`${name} is set but empty: unset it, or give it a value`);
    }
  });

  it('refuse a relative lake data path, which each worker would read from its own folder', () => {
    expect(() => defaultLakeDataPath({ METERFLOW_LAKE_DATA: 'lake-data' })).toThrow(
      /^METERFLOW_LAKE_DATA must be an absolute path or a URI/,
    );
  });
});
