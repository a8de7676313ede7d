/**
 * The scheduler: a pure function from a cluster snapshot and pending tasks to placement
 * decisions (see README.md for the pipeline and the spreading algorithm). No I/O, no clock,
 * no randomness; the manager's scheduling loop owns all of that.
 */
export { schedule, explain, findFailingFilter } from './schedule.js';
export {
  parseConstraint,
  formatConstraint,
  matchesConstraint,
  matchesConstraints,
} from './constraint.js';
export { parsePlacementPref } from './placement-pref.js';
export { FILTER_ORDER, explainFailures, explainFilter, formatExplanation } from './filter.js';
export type { FilterName, FailureCounts } from './filter.js';
export type {
  Constraint,
  ConstraintField,
  ConstraintLabelSource,
  ConstraintOperator,
  Decision,
  HostPort,
  NodeAvailability,
  NodeInfo,
  NodeRole,
  NodeStatus,
  NodeTask,
  PlacementPref,
  PortProtocol,
  Resources,
  TaskSpec,
} from './types.js';
