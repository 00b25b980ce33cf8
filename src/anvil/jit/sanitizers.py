"""Sanitizer flags in JIT builds: which ones can be loaded into a running Python, and a clear error for the rest.

UndefinedBehaviorSanitizer checks work in a ``dlopen``'ed library. AddressSanitizer, ThreadSanitizer,
LeakSanitizer (and clang's MemorySanitizer, HWASan) need their runtime loaded before anything else
in the process; ``dlopen``'ing an instrumented library into a plain interpreter aborts it. Such a
build is allowed only when that runtime is already in the process (``LD_PRELOAD``).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable

from anvil.errors import JitConfigError

# sanitizer (as spelled in -fsanitize=) -> (name, runtime library, a symbol the loaded runtime defines)
NEEDS_RUNTIME: dict[str, tuple[str, str, str]] = {
  "address": ("AddressSanitizer", "libasan.so", "__asan_init"),
  "kernel-address": ("AddressSanitizer", "libasan.so", "__asan_init"),
  "pointer-compare": ("AddressSanitizer", "libasan.so", "__asan_init"),
  "pointer-subtract": ("AddressSanitizer", "libasan.so", "__asan_init"),
  "hwaddress": ("HWAddressSanitizer", "libhwasan.so", "__hwasan_init"),
  "kernel-hwaddress": ("HWAddressSanitizer", "libhwasan.so", "__hwasan_init"),
  "thread": ("ThreadSanitizer", "libtsan.so", "__tsan_init"),
  "leak": ("LeakSanitizer", "liblsan.so", "__lsan_init"),
  "memory": ("MemorySanitizer", "libclang_rt.msan", "__msan_init"),
}


def requested_sanitizers(flags: Iterable[str]) -> set[str]:
  """The sanitizers ``flags`` enable, ``-fno-sanitize=`` applied in order."""
  on: set[str] = set()
  for f in flags:
    for prefix, add in (("-fsanitize=", True), ("-fno-sanitize=", False)):
      if f.startswith(prefix):
        names = {n for n in f[len(prefix):].split(",") if n}
        if add:
          on |= names
        elif "all" in names:
          on.clear()
        else:
          on -= names
  return on


def _loaded(symbol: str) -> bool:
  try:
    return hasattr(ctypes.CDLL(None), symbol)
  except OSError:  # no dlopen(NULL) on this platform: cannot tell, assume not loaded
    return False


def check_sanitizers(flags: Iterable[str], where: str) -> None:
  """Raises ``JitConfigError`` when ``flags`` ask for a sanitizer whose runtime is not in this process."""
  missing = sorted({NEEDS_RUNTIME[s] for s in requested_sanitizers(flags) if s in NEEDS_RUNTIME
                    and not _loaded(NEEDS_RUNTIME[s][2])})
  if not missing:
    return
  name, lib, _ = missing[0]
  opts = "ASAN_OPTIONS=detect_leaks=0 " if name == "AddressSanitizer" else ""
  flag = next(s for s in sorted(requested_sanitizers(flags)) if NEEDS_RUNTIME.get(s, ("",))[0] == name)
  raise JitConfigError(
    f"{where} asks for {name} (-fsanitize={flag}), whose runtime must be loaded before anything else in the "
    "process: loading an instrumented library into this Python would abort the interpreter. To run sanitized "
    "code either (1) export it (anvil.generate_module) and build it with a C++ main: "
    f"`g++ -std=c++17 -g -fsanitize={flag} main.cpp <module>.cpp`, or (2) start Python with the runtime "
    f"preloaded: `LD_PRELOAD=$(g++ -print-file-name={lib}) {opts}python ...` "
    "(anvil then allows the flag). -fsanitize=undefined needs neither and works in the JIT as is."
  )
