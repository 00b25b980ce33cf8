"""One rule table per graph transformation, keyed by tinygrad UOp op (like tinygrad's ``pm_gradient``).

``jvp`` (forward-mode tangents), ``vjp`` (reverse-mode cotangents, anvil's before tinygrad's),
``partials`` (derivatives of each elementwise function, shared by both modes), ``batch`` (vmap),
``sparsity`` (tensor-level zero and dependency propagation), ``scalarize`` (UOps -> scalar IR nodes).
"""
