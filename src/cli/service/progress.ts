import type { Service, Task } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import type { Client } from '../client.js';
import type { CliIo } from '../io.js';

const BAR = '[==================================================>]';
const VERIFY_MS = 1000;
const POLL_MS = 150;
/** How long the view waits out a lost leader (an election) before giving up. */
const TRANSIENT_MS = 15_000;

function isTransient(err: unknown): boolean {
  return err instanceof TswarmError && (err.code === 'NO_QUORUM' || err.code === 'NOT_LEADER');
}

function latestPerSlot(svc: Service, tasks: readonly Task[]): Map<string, Task> {
  const m = new Map<string, Task>();
  for (const t of tasks) {
    if (t.ServiceID !== svc.ID) continue;
    // Tasks still wanted; a rejected or failed one among them tells the user why a slot is stuck.
    if (t.DesiredState !== 'running' && t.DesiredState !== 'ready') continue;
    const key = t.Slot !== undefined ? String(t.Slot) : (t.NodeID ?? '');
    const cur = m.get(key);
    if (!cur || Date.parse(t.CreatedAt) > Date.parse(cur.CreatedAt)) m.set(key, t);
  }
  return m;
}

/**
 * Docker's converge view: `overall progress: N out of M tasks`, a line per slot, then
 * `verify: Service converged`. Lines are printed when they change (no cursor tricks), so the
 * output reads the same in a terminal and in a log. Throws when a slot's task is rejected.
 *
 * Updates and rollbacks follow the service's UpdateStatus as Docker's CLI does: a rollback
 * (manual, or automatic after a failed update) prints `rollback: <message>` and the progress
 * reads `rolling back update: N out of M tasks`; a paused update or rollback ends the wait
 * with Docker's `service update paused: <message>` / `service rollback paused: <message>`.
 * Beyond Docker, an update is converged only once the updater has closed it (completed):
 * its monitor windows are over.
 */
export async function waitConverged(
  client: Client,
  serviceId: string,
  io: CliIo,
  quiet: boolean,
  kind: 'update' | 'rollback' = 'update',
): Promise<void> {
  const out = (s: string): void => {
    if (!quiet) io.stdout(s);
  };
  const printed = new Map<string, string>();
  let lastOverall = '';
  let convergedSince: number | undefined;
  let verifyShown = false;
  let rollingBack = false;
  let unavailableSince: number | undefined;
  for (;;) {
    let svcJson: { json: string };
    let taskJson: { json: string[] };
    try {
      svcJson = await client.call<{ json: string }>((c, o, cb) =>
        c.ServiceInspect({ ref: serviceId, stale_ok: false }, o, cb),
      );
      taskJson = await client.call<{ json: string[] }>((c, o, cb) =>
        c.TaskList({ filters: [`service=${serviceId}`], stale_ok: false }, o, cb),
      );
      unavailableSince = undefined;
    } catch (err) {
      // The write was acknowledged already; an election while we watch only delays the view.
      if (!isTransient(err)) throw err;
      unavailableSince ??= Date.now();
      if (Date.now() - unavailableSince > TRANSIENT_MS) throw err;
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    const svc = JSON.parse(svcJson.json) as Service;
    const tasks = taskJson.json.map((j) => JSON.parse(j) as Task);
    const slots = latestPerSlot(svc, tasks);
    const want = svc.Spec.Mode.Global ? slots.size : (svc.Spec.Mode.Replicated?.Replicas ?? 1);
    const running = [...slots.values()].filter(
      (t) =>
        t.Status.State === 'running' &&
        t.DesiredState === 'running' &&
        JSON.stringify(t.Spec) === JSON.stringify(svc.Spec.TaskTemplate),
    ).length;
    const st = svc.UpdateStatus;
    // The update's state, as Docker's progress reads it.
    switch (st?.State) {
      case 'updating':
        rollingBack = false;
        break;
      case 'paused':
        throw new TswarmError('FAILED_PRECONDITION', `service update paused: ${st.Message}`);
      case 'rollback_started':
        if (!rollingBack && st.Message) out(`rollback: ${st.Message} \n`);
        rollingBack = true;
        break;
      case 'rollback_paused':
        throw new TswarmError('FAILED_PRECONDITION', `service rollback paused: ${st.Message}`);
      case 'completed':
      case 'rollback_completed':
      case undefined:
        break;
    }
    const updateOpen = st?.State === 'updating' || st?.State === 'rollback_started';
    const overall = `overall progress: ${rollingBack ? 'rolling back update: ' : ''}${Math.min(running, want)} out of ${want} tasks`;
    if (overall !== lastOverall) {
      out(`${overall} \n`);
      lastOverall = overall;
    }
    const keys = [...slots.keys()].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
    for (const [i, k] of keys.entries()) {
      const t = slots.get(k);
      if (!t) continue;
      const label = svc.Spec.Mode.Global ? k.slice(0, 12) : `${i + 1}/${want}`;
      const line =
        t.Status.State === 'rejected' || t.Status.State === 'failed'
          ? `${label}: ${t.Status.Err ?? t.Status.Message} `
          : `${label}: ${t.Status.State.padEnd(9)} ${t.Status.State === 'running' ? BAR : ''}`;
      if (printed.get(k) !== line) {
        out(`${line}\n`);
        printed.set(k, line);
      }
    }
    // During an update the updater decides what a rejected task means (pause, rollback).
    const rejected = updateOpen
      ? undefined
      : [...slots.values()].find((t) => t.Status.State === 'rejected');
    if (rejected) {
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `${kind === 'rollback' ? 'rollback' : 'service'} ${svc.Spec.Name}: task ${rejected.ID.slice(0, 12)} rejected: ${rejected.Status.Err ?? rejected.Status.Message}`,
      );
    }
    if (
      running >= want &&
      (want > 0 || slots.size === 0) &&
      [...slots.values()].length >= want &&
      !updateOpen
    ) {
      convergedSince ??= Date.now();
      if (!verifyShown) {
        out(`verify: Waiting ${VERIFY_MS / 1000} seconds to verify that tasks are stable... \n`);
        verifyShown = true;
      }
      if (Date.now() - convergedSince >= VERIFY_MS) {
        if (rollingBack || kind === 'rollback') out('rollback: rollback completed \n');
        out('verify: Service converged \n');
        return;
      }
    } else {
      convergedSince = undefined;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
