"""Customer scores and lifecycle stages: one set of formulas for the live path and the batch.

- ``settings``: every parameter of the model with its default, per workspace
  (``load_settings``, ``save_settings``).
- ``formulas``, ``stages`` and ``graph``: the numpy functions that turn customers' running
  measures into the six scores and a stage, and PageRank over the customer network; they
  work on arrays (the batch) and on one customer (the live path) alike.
- ``live``: ``on_interaction_stored``, what storing an interaction does to its customer's
  scores and stage (with ``enrich``: the text analysis and a purchase's money).
- ``batch``: ``rescore_workspace``, the set-based recomputation of a workspace (``load``
  reads, ``write`` writes); ``periodic``: the server's background rescore.
- ``manual``: ``set_manual_stage``, a stage set or cleared by hand.
- ``history``, ``announce`` and ``notify``: history rows, stage changes, and what is
  announced after a commit.
- ``referrals``: ``referral_counts``, who brought whom.

docs/scoring.md documents every formula, range and parameter.
"""
