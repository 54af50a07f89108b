// The catalog-reads bench's figures: quantiles and the count of reads that waited, from the timed reads.
import { catalogReadsMarkdown, readsRow } from '../../src/bench/catalog-reads';

describe('the catalog-reads bench', () => {
  it('gives the median, the 90th percentile, the longest read and the reads of 900 ms or more', () => {
    const times = [10, 20, 30, 40, 50, 60, 70, 80, 900, 1040];
    expect(readsRow('sqlite', times, 25)).toEqual({
      catalog: 'sqlite',
      reads: 10,
      commits: 25,
      p50Ms: 50,
      p90Ms: 900,
      maxMs: 1040,
      stalled: 2,
    });
  });

  it('writes one table row per catalog', () => {
    const markdown = catalogReadsMarkdown([readsRow('postgres', [70, 80, 114], 9)]);
    expect(markdown).toContain('| postgres | 3 | 9 | 80 | 80 | 114 | 0 |');
    expect(markdown).toContain('every 50 ms');
  });
});
