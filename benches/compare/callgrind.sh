#!/usr/bin/env bash
# Instructions per operation under callgrind: a count that does not depend on the machine's load
# (the fuzz campaign, other builds), to go with the wall-clock table of `cargo bench`.
#
#   cd benches/compare && ./callgrind.sh            # every op, oauth21 / oxide-auth / oauth-as / floor
#   ./callgrind.sh refresh                          # one op
#   KEEP=1 ./callgrind.sh code_flow                 # keep the profiles in target/callgrind/
#                                                   # (callgrind_annotate target/callgrind/code_flow.oauth21.out)
#
# Needs valgrind (`apt-get install -y valgrind`). Only the operation itself is counted
# (--toggle-collect on its function); setup, fresh grants and the timing loop are not.
# Valgrind's CPU model has no SHA extensions, so sha2 runs its portable code here: SHA-256 costs
# more instructions than it does natively (about 1,200 per 64-byte block), for oauth21 and the
# floor alike. System calls (getrandom) count only their user-side instructions.
# oxide-auth's client_credentials with its default Argon2 secrets is left out (tens of millions
# of instructions per request; see the wall-clock table).
set -euo pipefail
cd "$(dirname "$0")"
cargo bench --no-run -q 2>/dev/null || cargo bench --no-run
bin=$(ls -t target/release/deps/compare-* | grep -v '\.d$' | head -1)
out=target/callgrind
mkdir -p "$out"

ops=("$@")
[ ${#ops[@]} -eq 0 ] && ops=(code_flow refresh client_credentials introspection bearer_check)

# op -> function name suffix per implementation
fn_of() { # impl op
  case "$1:$2" in
    oauth21:introspection|oauth_as:introspection) echo introspect ;;
    oauth21:bearer_check|oauth_as:bearer_check) echo bearer ;;
    oxide:introspection|oxide:bearer_check) echo resource ;;
    floor:introspection) echo introspect ;;
    floor:bearer_check) echo bearer ;;
    *) echo "$2" ;;
  esac
}

iters=2000
printf '| op | oauth21 | oxide-auth | oauth-as | floor | oauth21 / floor | oxide-auth / oauth21 | oauth-as / oauth21 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
for op in "${ops[@]}"; do
  declare -A ir=()
  for impl in oauth21 oxide oauth_as floor; do
    case $impl in
      oauth21) variant=oauth21; path='oauth21_compare::oauth::Oauth21' ;;
      oxide) variant='oxide-auth'; path='oauth21_compare::oxide::OxideAuth'
             [ "$op" = client_credentials ] && variant='oxide-auth (SHA-256 secrets)' ;;
      oauth_as) variant='oauth-as'; path='oauth21_compare::oauth_as::OauthAs' ;;
      floor) variant=floor; path='oauth21_compare::floor::Floor' ;;
    esac
    file="$out/$op.$impl.out"
    COMPARE_PROFILE="$op:$variant:$iters" valgrind --tool=callgrind --collect-atstart=no \
      "--toggle-collect=$path::$(fn_of $impl "$op")" --callgrind-out-file="$file" \
      "$bin" --bench >/dev/null 2>"$file.log"
    total=$(grep -E '^(summary|totals):' "$file" | head -1 | awk '{print $2}')
    ir[$impl]=$((total / iters))
    [ -n "${KEEP:-}" ] || rm -f "$file" "$file.log"
  done
  awk -v op="$op" -v a="${ir[oauth21]}" -v x="${ir[oxide]}" -v s="${ir[oauth_as]}" -v f="${ir[floor]}" 'BEGIN {
    printf "| %s | %d | %d | %d | %d | %.1fx | %.2fx | %.2fx |\n", op, a, x, s, f, a / f, x / a, s / a }'
  unset ir
done
echo "(instructions per operation; oxide-auth client_credentials with SHA-256 secrets; its resource flow stands in for introspection and bearer check;"
echo " oauth-as through its http service, AuthorizationServer::introspect plus a scope check as its bearer check)"
