import type { Queue } from 'bullmq';
import type { Express, Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';

type BoardServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

/** Where Bull Board is mounted. */
export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * Bull Board over the SMS queue, read-only: retrying or removing a job from the board would fight
 * the dispatcher and the enqueue sweeper (a removed job of a pending row is added again; a retried
 * failed job finds its request failed and sends nothing), so the board is for looking only.
 * The caller mounts it at QUEUE_BOARD_PATH behind the admin check.
 */
export function queueBoardRouter(queues: Queue[]): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    // The installed @bull-board/express carries its own nested @bull-board/api (9.10.1 vs 9.10.2 at
    // the root), so TypeScript sees two BaseAdapter declarations; at run time the adapter is only
    // used through its methods. Drop the cast once `npm dedupe` leaves one @bull-board/api.
    serverAdapter: serverAdapter as unknown as BoardServerAdapter,
    options: { uiConfig: { boardTitle: 'Twillow queues' } },
  });
  // getRouter() is the adapter's own Express app, which would add X-Powered-By to every answer.
  const board = serverAdapter.getRouter() as Express;
  board.disable('x-powered-by');
  return board as unknown as Router;
}
