"""Files for their owner only: a new hub and new nodes make their folders 0700 and every file
0600 (keys, databases with their WAL, attachment bytes, backups, reports); a start over a
folder someone widened names each file and the command that fixes it, and starts anyway.

The process umask is set to the usual 022 for these tests, so what they see is what the
code asked for, not what a careful shell gave it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Node, PaperHub, federation, offline_node

from hub.admin.instance import init_hub
from hub.numbering.reconcile import run_nightly
from hub.store import HubStore
from node.storage.store import Store
from node.sync.jobs import backup_database
from protocol.filemodes import NAMED_AT_MOST, SAMPLED_FILES, too_open, too_open_warning

REPO = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.4\n% a scanned letter\n"


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most accounts have (group and others may read what is made)."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def modes_under(root: Path) -> dict[str, int]:
    """The permission bits of ``root`` and of everything under it, by relative path."""
    found = {".": stat.S_IMODE(root.lstat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def owner_only(modes: dict[str, int], root: Path) -> dict[str, str]:
    """What in ``modes`` is not exactly 0700 (a folder) or 0600 (a file)."""
    wrong = {}
    for rel, mode in modes.items():
        expected = 0o700 if (root / rel).is_dir() else 0o600
        if mode != expected:
            wrong[rel] = f"{mode:04o}"
    return wrong


@pytest.mark.sqlite_only("the modes of the hub's SQLite files")
def test_a_new_hub_and_new_nodes_keep_every_file_for_their_owner(
    tmp_path: Path, clock: Clock
) -> None:
    with federation(tmp_path, clock) as fed:
        chiang_mai, chiang_rai = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
        attachment = {
            "name": "scan.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(PDF).decode(),
        }
        chiang_mai.send(recipients=[CHIANG_RAI], attachments=[attachment])
        assert chiang_mai.sync().ok
        assert chiang_rai.sync().ok  # downloads the attachment's bytes
        backup_database(chiang_mai.ctx)
        hub = HubStore.open(fed.hub_dir / "hub.sqlite", create=False)
        try:
            run_nightly(hub, fed.hub_app.config, clock())  # writes the numbering report
            # With connections open, each database has its -wal and -shm files beside it.
            with chiang_mai.store(), chiang_rai.store():
                modes = {
                    "hub": modes_under(fed.hub_dir),
                    CHIANG_MAI: modes_under(chiang_mai.instance),
                    CHIANG_RAI: modes_under(chiang_rai.instance),
                }
        finally:
            hub.close()
    sha = hashlib.sha256(PDF).hexdigest()
    expected = {
        "hub": {".", "hub.sqlite", "hub.sqlite-wal", "hub.sqlite-shm", "keys/hub-1.key", "blobs"},
        CHIANG_MAI: {
            "node.sqlite",
            "node.sqlite-wal",
            "node.sqlite-shm",
            "keys/sign.key",
            "keys/seal.key",
            "api_token",
            "config.json",
            "secret_key",
            f"blobs/{sha[:2]}/{sha}",
            "backups",
        },
        CHIANG_RAI: {"node.sqlite", "keys/sign.key", f"blobs/{sha[:2]}/{sha}"},
    }
    for name, paths in expected.items():
        assert paths <= set(modes[name]), (name, sorted(paths - set(modes[name])))
    assert any(rel.startswith("backups/node-") for rel in modes[CHIANG_MAI])
    assert any(rel.startswith("reports/") for rel in modes["hub"])
    roots = {"hub": fed.hub_dir, CHIANG_MAI: chiang_mai.instance, CHIANG_RAI: chiang_rai.instance}
    wrong = {name: owner_only(modes[name], roots[name]) for name in modes}
    assert wrong == {"hub": {}, CHIANG_MAI: {}, CHIANG_RAI: {}}


def make_owner_only(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            (Path(folder) / name).chmod(0o700)
        for name in files:
            (Path(folder) / name).chmod(0o600)
    root.chmod(0o700)


def test_world_readable_files_warned(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    node = offline_node(tmp_path, CHIANG_MAI, PaperHub(), clock)
    make_owner_only(node.instance)
    (node.instance / "node.sqlite").chmod(0o644)  # as a copy put back by hand might be
    (node.instance / "keys").chmod(0o755)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="node.storage.modes"):
        started = Node(node.instance, clock)
    assert started.client.get("/api/health").status_code == 200  # it starts all the same
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "node.storage.modes"]
    assert f"{node.instance / 'node.sqlite'} (0644)" in warning
    assert f"{node.instance / 'keys'} (0755)" in warning
    assert "sign.key" not in warning and "api_token" not in warning  # those are 0600
    fix = f"chmod -R go-rwx {shlex.quote(str(node.instance))}"
    assert warning.endswith(fix)

    subprocess.run(["/bin/sh", "-c", fix], check=True)  # the fix, as the operator runs it
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="node.storage.modes"):
        Node(node.instance, clock)
    assert not [r for r in caplog.records if r.name == "node.storage.modes"]


def test_hub_command_warns_about_a_widened_instance_and_still_runs(
    tmp_path: Path, clock: Clock
) -> None:
    instance = tmp_path / "hub"
    init_hub(instance, now=clock())
    instance.chmod(0o755)  # copied back from a backup by someone else's account
    (instance / "keys" / "hub-1.key").chmod(0o644)
    done = subprocess.run(
        [sys.executable, "-m", "scripts.cli.main", "hub", "init", "--instance", str(instance)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"{instance} (0755)" in done.stderr
    assert f"{instance / 'keys' / 'hub-1.key'} (0644)" in done.stderr
    assert f"chmod -R go-rwx {instance}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_store_made_in_a_new_folder_makes_it_0700_and_the_file_0600(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "deeper" / "node.sqlite"
    with Store(path):
        assert modes_under(tmp_path / "elsewhere") == {
            ".": 0o700,
            "deeper": 0o700,
            "deeper/node.sqlite": 0o600,
            "deeper/node.sqlite-wal": 0o600,
            "deeper/node.sqlite-shm": 0o600,
        }


def test_a_widened_copy_of_the_attachments_is_named_from_a_sample(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    bytes_folder = instance / "blobs" / "ab"
    bytes_folder.mkdir(parents=True)  # 0755 under the umask of these tests
    for n in range(5 * SAMPLED_FILES):
        (bytes_folder / f"ab{n:062x}").write_bytes(b"%PDF")  # 0644
    found = too_open([instance], sampled=[instance / "blobs"])
    folders = {instance, instance / "blobs", bytes_folder}
    assert {t.path for t in found if t.path.is_dir()} == folders  # every folder is looked at
    assert len([t for t in found if t.path.parent == bytes_folder]) == SAMPLED_FILES
    warning = too_open_warning(found, [instance])
    assert f"and {len(found) - NAMED_AT_MOST} more" in warning
    assert warning.endswith(f"chmod -R go-rwx {instance}")
