"""Which names generated C++ can use: identifiers that are not keywords, standard macros, reserved
identifiers, or names the generated code itself defines or calls unqualified."""

from __future__ import annotations

import keyword
import re

from anvil.errors import IdentifierError

CPP_KEYWORDS = frozenset(
  """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class
  compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype default
  delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline int long
  mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
  reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template this
  thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while xor
  xor_eq main std NULL final override import module""".split()
)

# Object-like and function-like macros of the C/C++ standard headers (and GNU's predefined ones in
# gnu++ modes). A namespace or constant with such a name is rewritten by the preprocessor.
STD_MACROS = frozenset(
  """assert errno offsetof setjmp va_arg va_copy va_end va_start NDEBUG
  EOF BUFSIZ FILENAME_MAX FOPEN_MAX L_tmpnam TMP_MAX SEEK_SET SEEK_CUR SEEK_END stdin stdout stderr
  EXIT_SUCCESS EXIT_FAILURE RAND_MAX MB_CUR_MAX MB_LEN_MAX CLOCKS_PER_SEC TIME_UTC
  INFINITY NAN HUGE_VAL HUGE_VALF HUGE_VALL FP_NAN FP_INFINITE FP_ZERO FP_SUBNORMAL FP_NORMAL FP_FAST_FMA
  FP_FAST_FMAF FP_FAST_FMAL FP_ILOGB0 FP_ILOGBNAN MATH_ERRNO MATH_ERREXCEPT math_errhandling
  CHAR_BIT CHAR_MIN CHAR_MAX SCHAR_MIN SCHAR_MAX UCHAR_MAX SHRT_MIN SHRT_MAX USHRT_MAX INT_MIN INT_MAX UINT_MAX
  LONG_MIN LONG_MAX ULONG_MAX LLONG_MIN LLONG_MAX ULLONG_MAX DECIMAL_DIG
  SIG_DFL SIG_ERR SIG_IGN SIGABRT SIGFPE SIGILL SIGINT SIGSEGV SIGTERM
  LC_ALL LC_COLLATE LC_CTYPE LC_MONETARY LC_NUMERIC LC_TIME
  FE_ALL_EXCEPT FE_DIVBYZERO FE_INEXACT FE_INVALID FE_OVERFLOW FE_UNDERFLOW FE_DOWNWARD FE_TONEAREST FE_TOWARDZERO
  FE_UPWARD FE_DFL_ENV
  linux unix i386""".split()
  # <cerrno>
  + """E2BIG EACCES EADDRINUSE EADDRNOTAVAIL EAFNOSUPPORT EAGAIN EALREADY EBADF EBADMSG EBUSY ECANCELED ECHILD
  ECONNABORTED ECONNREFUSED ECONNRESET EDEADLK EDESTADDRREQ EDOM EEXIST EFAULT EFBIG EHOSTUNREACH EIDRM EILSEQ
  EINPROGRESS EINTR EINVAL EIO EISCONN EISDIR ELOOP EMFILE EMLINK EMSGSIZE ENAMETOOLONG ENETDOWN ENETRESET
  ENETUNREACH ENFILE ENOBUFS ENODATA ENODEV ENOENT ENOEXEC ENOLCK ENOLINK ENOMEM ENOMSG ENOPROTOOPT ENOSPC ENOSR
  ENOSTR ENOSYS ENOTCONN ENOTDIR ENOTEMPTY ENOTRECOVERABLE ENOTSOCK ENOTSUP ENOTTY ENXIO EOPNOTSUPP EOVERFLOW
  EOWNERDEAD EPERM EPIPE EPROTO EPROTONOSUPPORT EPROTOTYPE ERANGE EROFS ESPIPE ESRCH ETIME ETIMEDOUT ETXTBSY
  EWOULDBLOCK EXDEV""".split()
  # <cfloat>
  + [f"{p}_{s}" for p in ("FLT", "DBL", "LDBL") for s in """MANT_DIG DIG MIN_EXP MIN_10_EXP MAX_EXP MAX_10_EXP MAX
     EPSILON MIN TRUE_MIN DECIMAL_DIG HAS_SUBNORM NORM_MAX SNAN IS_IEC_60559""".split()]
  + ["FLT_RADIX", "FLT_ROUNDS", "FLT_EVAL_METHOD"]
)

# Names generated code uses unqualified from inside the module's namespace: the C math library
# (kernels call sin, sqrtf, exp2, ... without std::), fixed-width integer types and a few C library
# functions. A function namespace or constant of the same name would hide them.
_MATH = """acos asin atan atan2 cos sin tan acosh asinh atanh cosh sinh tanh exp exp2 expm1 frexp ldexp log log10
  log1p log2 logb ilogb modf scalbn scalbln cbrt fabs hypot pow sqrt erf erfc lgamma tgamma ceil floor nearbyint
  rint lrint llrint round lround llround trunc fmod remainder remquo copysign nan nextafter nexttoward fdim fmax fmin
  fma""".split()
STD_NAMES = frozenset(
  [m + suffix for m in _MATH for suffix in ("", "f", "l")]
  + """fpclassify isfinite isinf isnan isnormal signbit isgreater isgreaterequal isless islessequal islessgreater
  isunordered abs labs llabs div ldiv lldiv malloc calloc realloc free aligned_alloc memcpy memmove memset memcmp
  abort exit size_t ptrdiff_t max_align_t nullptr_t int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t
  intptr_t uintptr_t intmax_t uintmax_t float_t double_t""".split()
)

# Names the generated module itself defines or relies on (Buffer, anvil's runtime namespaces).
MODULE_NAMES = frozenset({"Buffer", "anvil", "anvil_detail", "anvil_jit"})

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_PATTERNS = (
  (re.compile(r"^_[A-Z]|__"), "reserved by the C++ standard (a leading '_' + capital letter, or '__' anywhere)"),
  (re.compile(r"^U?INT(8|16|32|64|MAX|PTR|_LEAST\d+|_FAST\d+)_(MIN|MAX|C)$|^(PTRDIFF|SIZE|SIG_ATOMIC|WCHAR|WINT)_(MIN|MAX)$"),
   "a standard C/C++ macro (<cstdint>)"),
  (re.compile(r"^ANVIL_"), "reserved for anvil's own macros ('ANVIL_' prefix)"),
)


def name_problem(name: object) -> str | None:
  """Why ``name`` cannot name something in generated C++, or None if it can."""
  if not isinstance(name, str) or not _IDENT.match(name):
    return "is not a valid C++ identifier (letters, digits, '_', not starting with a digit)"
  if name in CPP_KEYWORDS:
    return "is a reserved word in C++"
  if name in STD_MACROS:
    return "is a standard C/C++ macro"
  if keyword.iskeyword(name):
    return "is a reserved word in Python"
  if name in STD_NAMES:
    return "is a C/C++ library name that generated code calls unqualified"
  if name in MODULE_NAMES:
    return "is a name the generated module itself defines or uses"
  for pattern, why in _RESERVED_PATTERNS:
    if pattern.search(name):
      return f"is {why}"
  return None


def check_identifier(name: object, what: str) -> str:
  """Raises ``ValueError`` unless ``name`` is usable as a C++ identifier in generated code."""
  problem = name_problem(name)
  if problem is not None:
    raise IdentifierError(f"{what} {name!r} {problem}; choose another name")
  return name  # type: ignore[return-value]


MAX_MODULE_NAME = 200  # the module's files are <name>.hpp / <name>.cpp: file names are limited to 255 bytes


def check_module_name(name: object, what: str = "module name") -> str:
  """``check_identifier`` plus what a global namespace and a file name need (no leading '_', bounded length)."""
  checked = check_identifier(name, what)
  if checked.startswith("_"):
    raise IdentifierError(f"{what} {checked!r} is reserved by the C++ standard in the global namespace (a leading '_'); "
                          "choose another name")
  if len(checked) > MAX_MODULE_NAME:
    raise IdentifierError(f"{what} {checked[:40]!r}... has {len(checked)} characters; at most {MAX_MODULE_NAME} are "
                          "allowed, since it names the generated files")
  return checked
