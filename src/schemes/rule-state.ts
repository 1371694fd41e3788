/**
 * A scheme's checkpoint state when its robust stage is a stateful rule (centered clipping's last
 * aggregate, clipped clustering's norm history): `Scheme.saveState`/`loadState` carry the rule's
 * own, so a resumed run continues bit for bit. Nothing for a stateless rule or a worker's scheme.
 */
import type { Aggregator } from '../aggregators/types.js';
import type { Scheme } from './types.js';

export function ruleState(rule: Aggregator | null): Pick<Scheme, 'saveState' | 'loadState'> {
  if (rule?.saveState === undefined || rule.loadState === undefined) return {};
  const { saveState, loadState } = rule;
  return {
    saveState: () => ({ rule: saveState.call(rule) }),
    loadState: (state: unknown) => loadState.call(rule, (state as { rule?: unknown } | null)?.rule),
  };
}
