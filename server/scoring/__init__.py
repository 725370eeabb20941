"""Customer scores and lifecycle stages: one set of formulas for the live path and the batch.

- ``settings``: every parameter of the model with its default, per workspace.
- ``formulas`` and ``stages``: the numpy functions that turn a customer's running measures
  into the six scores and a stage; they work on arrays (the batch) and on one customer
  (the live path) alike.
- ``graph``: PageRank over the customer-to-customer network (batch only).
- ``live``: what happens to a customer's scores when one of their interactions is stored.
- ``batch``: ``rescore_workspace``, the set-based recomputation of a whole workspace.
- ``manual``: setting and clearing a stage by hand.
- ``referrals``: who brought whom ("old brings new").

docs/scoring.md documents every formula, range and parameter.
"""
