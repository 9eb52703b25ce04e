/**
 * Group commit: calls made while a run is in flight (or in the same turn of the event loop as the first)
 * wait and go together in the next run. `run` takes the items and answers one result per item, in order.
 * The consumer's lanes use it so that one statement serves every lane ready at the same moment: one at a
 * time it is one statement per call, as before; under a backlog, a fraction of one.
 */
export function groupCommit<Item, Result>(run: (items: Item[]) => Promise<Result[]>): (item: Item) => Promise<Result> {
  type Waiter = { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void };
  let waiting: Waiter[] = [];
  let running = false;

  async function drain(): Promise<void> {
    running = true;
    // One microtask first: the other lanes of the same turn join this group.
    await Promise.resolve();
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      try {
        const results = await run(group.map((waiter) => waiter.item));
        group.forEach((waiter, index) => {
          const result = results[index];
          if (result === undefined) waiter.reject(new Error('group commit: no result for an item'));
          else waiter.resolve(result);
        });
      } catch (error) {
        for (const waiter of group) waiter.reject(error);
      }
    }
    running = false;
  }

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!running) void drain();
    });
}
