// The client's watchers wait between rounds on the run's abort signal: each round's listener must go
// with it, or a wait of hours piles up thousands of them (Node warns from eleven on).
import { getEventListeners } from 'node:events';
import { sleep } from '../../src/client/sleep';

describe("the client watchers' sleep", () => {
  it('leaves no abort listener behind after a round that ran its course', async () => {
    const controller = new AbortController();
    for (let round = 0; round < 20; round++) expect(await sleep(1, controller.signal)).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('wakes early, saying so, when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    expect(await slept).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await sleep(60_000, controller.signal)).toBe(false);
  });
});
