# shellcheck shell=bash
# Assertions for the mesh tests: each failure names what was expected and what came.
FAILURES=0
pass() { printf '  ok   %s\n' "$*"; }
fail() { printf '  FAIL %s\n' "$*"; FAILURES=$((FAILURES + 1)); }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else
    fail "$1"
    diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/       /' | head -60
  fi
}
# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
  if [[ $3 == *"$2"* ]]; then pass "$1"; else
    fail "$1: no '$2' in:"
    printf '%s\n' "$3" | sed 's/^/       /' | head -30
  fi
}
# expect_status WHAT EXPECTED ACTUAL
expect_status() {
  if [ "$2" = "$3" ]; then pass "$1 (exit $3)"; else
    fail "$1: exit $3, expected $2; its stderr ends with:"
    printf '%s\n' "${err:-}" | tail -15 | sed 's/^/       /'
  fi
}
finish() {
  if [ "$FAILURES" -gt 0 ]; then printf '%s: %d failure(s)\n' "$1" "$FAILURES"; exit 1; fi
  printf '%s: all passed\n' "$1"
}
