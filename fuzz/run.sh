#!/usr/bin/env bash
# Runs every oauth21 fuzz target for SECONDS each (default 20), one after another, with the
# checked-in seeds and the working corpus. Exits non-zero if any target crashed.
#
#   bash fuzz/run.sh [SECONDS]
#
# Environment:
#   FUZZ_TARGETS    space-separated targets to run (default: all)
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default: none; the crate forbids unsafe code, and
#                   without AddressSanitizer each target runs about twice as many inputs)
#   FUZZ_JOBS       cargo build jobs (default: 1, to leave the other core alone)
set -u

seconds="${1:-20}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: bash fuzz/run.sh [SECONDS]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.." || exit 2

if ! command -v cargo >/dev/null 2>&1; then
    echo "fuzz/run.sh: cargo is not installed; skipping the fuzz run"
    exit 0
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: 'cargo +nightly' is unavailable (cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly); skipping the fuzz run"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz || {
        echo "fuzz/run.sh: could not install cargo-fuzz" >&2
        exit 1
    }
fi

all="authorize_request token_request basic_auth revoke_introspect bearer_header redirect_uri_registration whole_flow jws_verify dpop_proof client_assertion pushed_request registration"
targets="${FUZZ_TARGETS:-$all}"
sanitizer="${FUZZ_SANITIZER:-none}"
export CARGO_BUILD_JOBS="${FUZZ_JOBS:-1}"

failed=""
for target in $targets; do
    case "$target" in
        # Structured input (arbitrary): 64 operations fit in well under 1 KiB; no text dictionary.
        whole_flow) extra="-max_len=4096" ;;
        # Past the 8000-byte request limit and the 4096-byte header limits.
        *) extra="-max_len=9000 -dict=fuzz/dict/oauth21.dict" ;;
    esac
    mkdir -p "fuzz/corpus/$target"
    # Saved crash inputs (fixed or not) are replayed first as part of the corpus.
    regressions=""
    if [ -d "fuzz/regressions/$target" ]; then
        regressions="fuzz/regressions/$target"
    fi
    echo "=== $target: ${seconds}s, started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    if ! cargo +nightly fuzz run -s "$sanitizer" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" $regressions -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 $extra; then
        echo "=== $target: FAILED (crash input under fuzz/artifacts/$target/)"
        failed="$failed $target"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz/run.sh: crashes in:$failed"
    exit 1
fi
echo "fuzz/run.sh: no crashes"
