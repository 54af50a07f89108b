// docker-compose.yml cannot be started here (no Docker engine), so it is kept honest by what can run:
// its commands must be valid meterflow commands, its settings the ones the code reads and the tests use.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { buildProgram } from '../../src/cli/main';
import { defaultWarehousePath, PACKAGE_ROOT } from '../../src/config';
import { lakeOptionsFor } from '../../src/warehouse/warehouse';
import { s3TestEnvironment } from '../support/s3-server';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  container_name?: string;
  entrypoint?: string[];
}

describe('the docker-compose deployment', () => {
  let services: Record<string, Service>;

  beforeAll(async () => {
    const compose = YAML.parse(await readFile(path.join(PACKAGE_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, Service>;
    };
    services = compose.services;
  });

  const meterflowServices = () => Object.entries(services).filter(([, service]) => service.image?.startsWith('meterflow:'));

  it('runs Temporal on PostgreSQL, its Web UI, MinIO, one writer and scalable analytics workers', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 'minio', 'writer', 'analytics', 'builder', 'sample-data']),
    );
    expect(services.temporal?.environment?.DB).toBe('postgres12');
    // scaling with --scale needs no fixed name and no host port
    expect(services.analytics?.container_name).toBeUndefined();
    expect(services.analytics?.ports).toBeUndefined();
  });

  it('gives every meterflow service a command the meterflow CLI accepts', () => {
    const program = buildProgram();
    for (const [name, service] of meterflowServices()) {
      const [subcommand, ...args] = service.command ?? [];
      const command = program.commands.find((c) => c.name() === subcommand);
      expect({ service: name, command: command?.name() }).toEqual({ service: name, command: subcommand });
      const known = new Set(command?.options.map((option) => option.long));
      for (const flag of args.filter((arg) => arg.startsWith('--')))
        expect({ service: name, flag, known: known.has(flag) }).toEqual({ service: name, flag, known: true });
    }
  });

  it('keeps the lake in PostgreSQL and MinIO: the writer commits to it, analytics workers read it from anywhere', () => {
    const catalog = services.writer?.environment?.METERFLOW_CATALOG as string;
    expect(catalog).toMatch(/^postgres:dbname=meterflow_lake host=postgresql /);
    expect(services.writer?.command).toEqual(['worker', '--role', 'writer', '--db', catalog]);
    // the variable the code reads: a client's `run` names the writer's warehouse without --db
    expect(defaultWarehousePath(services.client?.environment as NodeJS.ProcessEnv)).toBe(catalog);
    expect(lakeOptionsFor(catalog, services.writer?.environment as NodeJS.ProcessEnv)).toMatchObject({
      catalog,
      dataPath: 's3://meterflow/lake/',
    });
    // no volume for any worker: readers attach the catalog in PostgreSQL at the run's version
    expect(services.writer?.volumes).toBeUndefined();
    expect(services.analytics?.volumes).toBeUndefined();
    expect(services.analytics?.command?.slice(0, 3)).toEqual(['worker', '--role', 'analytics']);
    // build workers scale too (`--scale builder=N`): they write month files and never commit
    expect(services.builder?.command?.slice(0, 3)).toEqual(['worker', '--role', 'build']);
    expect(services.builder?.volumes).toBeUndefined();
    const writers = meterflowServices().filter(([, service]) => service.command?.includes('writer'));
    expect(writers.map(([name]) => name)).toEqual(['writer']);
    expect(services['lake-catalog']?.entrypoint?.join(' ')).toContain('create database meterflow_lake');
    expect(services['lake-catalog']?.environment?.PGPASSWORD).toBe(services.postgresql?.environment?.POSTGRES_PASSWORD);
  });

  it('configures S3 with the same variables the tests exercise, pointing at MinIO with its credentials', async () => {
    const testVariables = Object.keys(s3TestEnvironment('http://x'));
    const sources = await readFile(path.join(PACKAGE_ROOT, 'src', 'storage', 's3.ts'), 'utf8');
    for (const [name, service] of meterflowServices()) {
      const environment = service.environment ?? {};
      expect({ service: name, variables: Object.keys(environment) }).toEqual({
        service: name,
        variables: expect.arrayContaining([...testVariables, 'TEMPORAL_ADDRESS', 'METERFLOW_CATALOG', 'METERFLOW_LAKE_DATA']),
      });
      expect(environment.AWS_ENDPOINT_URL_S3).toBe('http://minio:9000');
      expect(environment.AWS_ACCESS_KEY_ID).toBe(services.minio?.environment?.MINIO_ROOT_USER);
      expect(environment.AWS_SECRET_ACCESS_KEY).toBe(services.minio?.environment?.MINIO_ROOT_PASSWORD);
      expect(environment.TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
    expect(sources).toContain('AWS_ENDPOINT_URL_S3');
    expect(services.buckets?.entrypoint?.join(' ')).toContain('mc mb --ignore-existing local/meterflow');
    expect(services['sample-data']?.command).toEqual(expect.arrayContaining(['generate', '--out', 's3://meterflow/sources']));
  });
});
