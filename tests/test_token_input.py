"""The enrollment token never on the command line, where every user of the machine reads it
in the process list: `saraban node init` takes it from stdin (`--token -`), a file
(`--token-file`) or `SARABAN_ENROLL_TOKEN`, and refuses one written after `--token` in one
line saying how to pass it, before anything is sent or written (ADR 0018).

The commands run as processes, as an office's administrator types them, against a real hub
on 127.0.0.1 on the real clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import assert_one_line_failure, saraban
from test_node_support import Federation, closed_port_url

from hub.admin.tokens import issue_enrollment_token
from protocol.keys import load_signer

pytestmark = pytest.mark.sqlite_only("a hub the module's tests share")


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    """A hub on 127.0.0.1 on the real clock (the commands' processes read it too)."""
    federation = Federation(tmp_path_factory.mktemp("tokens"), time.time)  # type: ignore[arg-type]
    try:
        yield federation
    finally:
        federation.close()


def token(fed: Federation, office: str) -> str:
    return issue_enrollment_token(fed.hub_dir, office, 1)


def init(fed: Federation, office: str, instance: Path, *how: str) -> list[str]:
    return ["node", "init", "--hub", fed.url, "--office", office, "--instance", str(instance), *how]


def enrolled(instance: Path, office: str) -> bool:
    return load_signer(instance / "keys" / "sign.key").keyid == f"{office}#1"


def test_a_token_written_on_the_command_line_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    secret = "0123456789abcdef0123456789abcdef0123456789abcdef"
    instance = tmp_path / "node"
    proc = saraban(
        "node", "init", "--hub", closed_port_url(), "--office", "ชม 0017",
        "--token", secret, "--instance", str(instance),
    )  # fmt: skip
    assert_one_line_failure(proc, "--token -")
    assert "รายการโปรเซส" in proc.stderr and "process list" in proc.stderr
    assert "--token-file" in proc.stderr and "SARABAN_ENROLL_TOKEN" in proc.stderr
    assert secret not in proc.stderr
    assert not instance.exists()  # no key made, nothing written


@pytest.mark.parametrize(
    ("how", "needle"),
    [
        pytest.param((), "no token", id="no-token-at-all"),
        pytest.param(("--token", "-", "--token-file", "{tmp}/t.txt"), "not both", id="two-ways"),
        pytest.param(("--token-file", "{tmp}/missing.txt"), "cannot read", id="missing-file"),
    ],
)
def test_a_token_that_is_not_given_one_readable_way_is_refused(
    tmp_path: Path, how: tuple[str, ...], needle: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SARABAN_ENROLL_TOKEN"}
    how = tuple(arg.format(tmp=tmp_path) for arg in how)
    argv = ["node", "init", "--hub", closed_port_url(), "--office", "ชม 0017", *how]
    proc = saraban(*argv, "--instance", str(tmp_path / "node"), env=env, stdin="")
    assert_one_line_failure(proc, needle)
    assert not (tmp_path / "node").exists()


def test_the_token_piped_in_enrolls_the_office(fed: Federation, tmp_path: Path) -> None:
    instance = tmp_path / "cm"
    proc = saraban(
        *init(fed, "ชม 0017", instance, "--token", "-"), stdin=token(fed, "ชม 0017") + "\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"node ชม 0017 enrolled at {fed.url}"
    assert enrolled(instance, "ชม 0017")


def test_the_token_in_a_file_enrolls_the_office(fed: Federation, tmp_path: Path) -> None:
    secret = tmp_path / "token.txt"
    secret.write_text(token(fed, "ชร 0017") + "\n", encoding="utf-8")
    instance = tmp_path / "cr"
    proc = saraban(*init(fed, "ชร 0017", instance, "--token-file", str(secret)))
    assert proc.returncode == 0, proc.stderr
    assert enrolled(instance, "ชร 0017")


def test_the_token_in_the_environment_enrolls_the_office(fed: Federation, tmp_path: Path) -> None:
    instance = tmp_path / "kk"
    env = {**os.environ, "SARABAN_ENROLL_TOKEN": token(fed, "ขก 0017")}
    proc = saraban(*init(fed, "ขก 0017", instance), env=env)
    assert proc.returncode == 0, proc.stderr
    assert enrolled(instance, "ขก 0017")


def test_enrolling_an_enrolled_office_again_says_to_reenroll(
    fed: Federation, tmp_path: Path
) -> None:
    first = saraban(
        *init(fed, "นม 0017", tmp_path / "a", "--token", "-"), stdin=token(fed, "นม 0017")
    )
    assert first.returncode == 0, first.stderr
    again = saraban(
        *init(fed, "นม 0017", tmp_path / "b", "--token", "-"), stdin=token(fed, "นม 0017")
    )
    assert_one_line_failure(again, "--reenroll")
    assert not (tmp_path / "b" / "keys" / "sign.key").exists()
