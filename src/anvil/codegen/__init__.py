"""anvil IR -> C++ text: function fragments (``emit``), straight-line scalar kernels (``scalar_kernel``),
literals, the name rules of generated code (``names``) and the Jinja templates (``templates``).

Nothing here traces, compiles or loads: the user-facing objects live in ``anvil.function`` and
``anvil.module``, the compiler in ``anvil.jit``.
"""
