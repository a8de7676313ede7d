import type { Logger } from '../../log.js';
import type { Command } from '../store/types.js';
import type { ReconcileInput } from './reconcile.js';
import { planService, type ServicePlan } from './update-plan.js';

type ServiceUpdateCommand = Extract<Command, { op: 'service.update' }>;

/**
 * The leader's rolling updater: each orchestration pass asks it for a service's step (the
 * update plan merged with the reconciler's, see `planService`), and it writes the service's
 * status transitions and automatic rollbacks. It keeps no state of its own: everything an
 * update needs is in the store, so a new leader's updater resumes the old leader's update.
 * Wake-ups for delays and monitor windows come back as the plan's `wakeAt`.
 */
export class RollingUpdater {
  private readonly log: Logger;

  constructor(
    private readonly propose: (cmd: Command) => Promise<unknown>,
    log: Logger,
  ) {
    this.log = log.child({ component: 'updater' });
  }

  /** One service's orchestration step (pure), logged when the update moves on. */
  step(inp: ReconcileInput): ServicePlan {
    const plan = planService(inp);
    if (plan.note) {
      this.log.info(
        {
          service: inp.service.Spec.Name,
          create: plan.create.map((t) => t.ID),
          ...(plan.service?.service.UpdateStatus
            ? { status: plan.service.service.UpdateStatus.State }
            : {}),
        },
        plan.note,
      );
    }
    return plan;
  }

  /**
   * Proposes a service write from a plan; false when it did not go through. A refusal (the
   * service changed since the plan was made: a user's `service update` won the race) is not
   * an error: the caller runs another pass, which plans from the new state.
   */
  async commit(cmd: ServiceUpdateCommand): Promise<boolean> {
    try {
      await this.propose(cmd);
      return true;
    } catch (err) {
      this.log.debug(
        { service: cmd.id, err: err instanceof Error ? err.message : String(err) },
        'update status write did not go through; replanning',
      );
      return false;
    }
  }
}
