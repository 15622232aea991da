"""``sign_ratio`` and ``verify_ratio``: envelope signing and verifying against raw Ed25519.

The envelope side is :func:`protocol.envelope.sign_envelope` on the body of a 3–4 KB Thai
letter (canonical JSON, PAE, the signature) and :func:`protocol.envelope.verify_envelope`
of the result (PAE, the signature, the canonical parse). The limit is ``cryptography``'s
Ed25519 alone, signing and verifying a message of the same length (the PAE bytes the
envelope signs), as the figures are defined. The envelope's signatures are libsodium's
(ADR 0029), faster than ``cryptography``'s, so the note also gives libsodium alone on the
same message: the envelope's own cost is the gap between those two.

The loops take turns, :data:`ROUNDS` short rounds, and each rate is the best of its
rounds, so load on a shared machine costs no loop more than the others: on a machine whose
neighbours took its cores for seconds at a time, five rounds of 6,000 gave ``sign_ratio``
from 0.73 to 1.02 for the same code, forty rounds of 1,000 gave 0.870–0.876 in three runs.

Does not: start any process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import nacl.bindings

from protocol.envelope import pae, sign_envelope, verify_envelope
from protocol.keys import Signer
from scripts.bench.figures import Figure, measured
from scripts.bench.plan import Sizes
from scripts.bench.traffic import thai_letter

ROUNDS = 40
"""Rounds of the raw and the envelope loop, in turn."""


def rate(n: int, action: Callable[[], object]) -> float:
    """Calls of ``action`` per second over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        action()
    return n / (time.perf_counter() - start)


def best_rates(n: int, *actions: Callable[[], object]) -> list[float]:
    """The best rate of each action over :data:`ROUNDS` rounds that time one loop of each
    in turn, so that load on the machine falls on all of them alike."""
    best = [0.0] * len(actions)
    for _ in range(ROUNDS):
        for i, action in enumerate(actions):
            best[i] = max(best[i], rate(n, action))
    return best


def run(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Measure both ratios."""
    n = sizes.signatures
    signer = Signer.generate("ชม 0017")
    private, public = signer.private_key, signer.private_key.public_key()
    body = thai_letter("ชม 0017", 4321, "0" * 64, ["มท 0200"])
    env = sign_envelope("letter", body, signer)
    message = pae(env.payload_type, env.body)
    raw_sig = private.sign(message)
    keys = {signer.keyid: public}.get
    secret = private.private_bytes_raw() + public.public_bytes_raw()
    public_raw, signed = public.public_bytes_raw(), raw_sig + message

    def raw_verify() -> None:
        public.verify(raw_sig, message)

    raw_sign_rate, sodium_sign_rate, env_sign_rate = best_rates(
        n,
        lambda: private.sign(message),
        lambda: nacl.bindings.crypto_sign(message, secret),
        lambda: sign_envelope("letter", body, signer),
    )
    raw_verify_rate, sodium_verify_rate, env_verify_rate = best_rates(
        n,
        raw_verify,
        lambda: nacl.bindings.crypto_sign_open(signed, public_raw),
        lambda: verify_envelope(env, keys),
    )
    size = f"{len(env.body):,}-byte letter body"
    return [
        measured(
            "sign_ratio",
            env_sign_rate / raw_sign_rate,
            f"envelope {env_sign_rate:,.0f}/s vs raw Ed25519 {raw_sign_rate:,.0f}/s; libsodium"
            f" alone {sodium_sign_rate:,.0f}/s (envelope ÷ libsodium"
            f" {env_sign_rate / sodium_sign_rate:.2f}); {size}",
            limit=raw_sign_rate,
            ratio=env_sign_rate / raw_sign_rate,
        ),
        measured(
            "verify_ratio",
            env_verify_rate / raw_verify_rate,
            f"envelope {env_verify_rate:,.0f}/s vs raw Ed25519 {raw_verify_rate:,.0f}/s;"
            f" libsodium alone {sodium_verify_rate:,.0f}/s (envelope ÷ libsodium"
            f" {env_verify_rate / sodium_verify_rate:.2f}); {size}",
            limit=raw_verify_rate,
            ratio=env_verify_rate / raw_verify_rate,
        ),
    ]
