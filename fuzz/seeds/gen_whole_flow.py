#!/usr/bin/env python3
"""Writes the whole_flow seeds: byte strings in the `arbitrary` 1.x layout of `Flow`.

Layout: one byte of flags, then per operation a continuation byte (1), the variant index as a
little-endian u32 scaled to the 10 variants, and the variant's fields (u8 each, bool = byte & 1).
Check a seed with `cargo +nightly fuzz fmt whole_flow fuzz/seeds/whole_flow/<file>`.
"""
import os
import struct

VARIANTS = ["Authorize", "Approve", "Deny", "RedeemCode", "Refresh", "Revoke", "Introspect",
            "AdvanceClock", "ClientCredentials", "BearerCheck"]


def op(name, *fields):
    index = VARIANTS.index(name)
    # (v * n) >> 32 == index for v = ceil(index * 2^32 / n)
    v = -(-index * 2**32 // len(VARIANTS))
    return bytes([1]) + struct.pack("<I", v) + bytes(int(f) for f in fields)


SEEDS = {
    # app: authorize (loopback port variant, read write, state), approve, redeem, refresh, the
    # rotated-out token again at the same instant (lost race) and a second later (replay:
    # revokes the family), then introspect and bearer-check the first access token.
    "app_refresh_replay": (0, [
        op("Authorize", 0, 0, 3, 1, 0, 0), op("Approve", 0, 0), op("RedeemCode", 0, 0),
        op("Refresh", 0, 1, 0), op("Refresh", 0, 0, 0), op("AdvanceClock", 1), op("Refresh", 0, 0, 0),
        op("Introspect", 0, 0, 3), op("BearerCheck", 0, 1), op("Refresh", 1, 0, 0),
    ]),
    # web: POST authorize to the ?tenant=1 URI, approve narrowed, redeem with Basic, replay the
    # code (revokes the grant), introspect as web and revoke as web.
    "web_code_replay": (0, [
        op("Authorize", 1, 1, 3, 2, 0, 1), op("Approve", 0, 1), op("RedeemCode", 0, 0x80),
        op("Introspect", 0, 0, 1), op("RedeemCode", 0, 0), op("Introspect", 0, 0, 1),
        op("Revoke", 0, 1, 1, 1),
    ]),
    # Errors: unregistered redirect, PKCE plain, denial, client credentials for svc, web
    # (unauthorized) and rs; introspection by a public client.
    "errors_and_client_credentials": (0, [
        op("Authorize", 0, 5, 0, 0, 0, 0), op("Authorize", 0, 2, 1, 3, 2, 0), op("Authorize", 1, 0, 0, 1, 0, 0),
        op("Authorize", 0, 2, 0, 1, 0, 1), op("Deny", 0), op("ClientCredentials", 0, 0),
        op("ClientCredentials", 2, 1), op("ClientCredentials", 1, 1), op("Introspect", 0, 0, 0),
        op("BearerCheck", 1, 2), op("Revoke", 0, 0, 2, 0), op("Introspect", 0, 0, 3),
    ]),
    # A code redeemed after 61 s, then tampered redemptions of a fresh one.
    "code_expiry_and_tampering": (0, [
        op("Authorize", 0, 1, 1, 0, 0, 0), op("Approve", 0, 0), op("AdvanceClock", 61), op("RedeemCode", 0, 0),
        op("Approve", 0, 0), op("RedeemCode", 1, 0x01), op("RedeemCode", 1, 0), op("Approve", 0, 0),
        op("RedeemCode", 2, 0x20), op("RedeemCode", 2, 0x08), op("RedeemCode", 2, 0x40), op("RedeemCode", 2, 0),
    ]),
    # keep_confidential_refresh_tokens: web refreshes twice with the same token; the clock
    # passes the access-token lifetime (30 x 120 s).
    "web_keep_refresh_and_expiry": (1, [
        op("Authorize", 1, 0, 3, 0, 0, 0), op("Approve", 0, 0), op("RedeemCode", 0, 0),
        op("Refresh", 0, 1, 0), op("Refresh", 0, 2, 8), op("Refresh", 0, 3, 0),
    ] + [op("AdvanceClock", 120)] * 31 + [
        op("Introspect", 0, 0, 3), op("BearerCheck", 0, 0), op("Refresh", 0, 0, 0), op("Introspect", 0, 1, 3),
    ]),
    # Pushed requests (client byte >= 128; 129 % 3 is app, 130 % 3 web): app pushes and approves, approves again (no code),
    # denies (invalid_request), redeems the one code; web pushes over Basic and denies.
    "pushed_requests": (0, [
        op("Authorize", 129, 0, 3, 1, 0, 0), op("Approve", 0, 0), op("Approve", 0, 0), op("Deny", 0),
        op("RedeemCode", 0, 0, 0), op("Authorize", 130, 0, 1, 1, 0, 1), op("Deny", 1), op("Approve", 1, 0),
    ]),
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "whole_flow")
os.makedirs(here, exist_ok=True)
for name, (flags, ops) in SEEDS.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(bytes([flags]) + b"".join(ops))
