import type { Logger } from '../log.js';
import { now } from './cluster-ops.js';
import type { Manager } from './manager.js';

const INTERVAL_MS = 250;

/**
 * Leader-side loop that keeps Raft membership and the store in step:
 * managers' reachability (from Raft progress) is written when it changes; a node demoted to
 * worker is removed from Raft (the leader hands leadership over first when it is the one
 * demoted); a manager that left Raft loses its manager status.
 */
export class MembershipReconciler {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly log: Logger;

  constructor(
    private readonly manager: Manager,
    log: Logger,
  ) {
    this.log = log.child({ component: 'membership' });
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.reconcile();
    }, INTERVAL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async reconcile(): Promise<void> {
    if (this.busy || !this.manager.isLeader()) return;
    this.busy = true;
    try {
      const m = this.manager;
      const status = m.driver.status();
      const members = new Set<string>([...status.confState.voters, ...status.confState.learners]);
      const selfId = m.nodeId;

      const updates: { id: string; reachability: 'reachable' | 'unreachable' }[] = [];
      for (const n of m.store.nodes()) {
        if (!n.ManagerStatus) continue;
        if (!members.has(n.ID)) {
          // Listed as a manager but not in Raft (after --force-new-cluster): unreachable.
          if (n.Spec.Role === 'manager' && n.ManagerStatus.Reachability !== 'unreachable') {
            updates.push({ id: n.ID, reachability: 'unreachable' });
          }
          continue;
        }
        const active = n.ID === selfId || status.progress.get(n.ID)?.recentActive === true;
        const want = active ? 'reachable' : 'unreachable';
        if (n.ManagerStatus.Reachability !== want) updates.push({ id: n.ID, reachability: want });
      }
      if (updates.length) await m.write({ op: 'node.set-reachability', at: now(), updates });

      for (const n of m.store.nodes()) {
        if (n.Spec.Role !== 'worker') continue;
        if (members.has(n.ID)) {
          if (n.ID === selfId) {
            const to = [...members].find(
              (id) =>
                id !== selfId &&
                status.confState.voters.includes(id) &&
                status.progress.get(id)?.recentActive,
            );
            this.log.info({ to }, 'demoted: transferring leadership first');
            await m.driver.transferLeadership(to);
            return;
          }
          this.log.info({ node: n.ID }, 'removing demoted manager from raft');
          await m.driver.removeMember(n.ID);
        }
        if (n.ManagerStatus) await m.write({ op: 'node.set-manager', at: now(), id: n.ID });
      }
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'membership reconcile failed',
      );
    } finally {
      this.busy = false;
    }
  }
}
