"""The search: candidates from the pass registry, the analytic pre-filter, strategies, Pareto fronts and relaxations."""
