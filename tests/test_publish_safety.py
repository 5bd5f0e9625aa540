"""Nothing is lost around the model folder: export removes only what it published, readers see one version."""
import errno
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.idx_source import IdxSource
from dae_edge.export import publish
from dae_edge.export.exporter import ExportOptions, export
from dae_edge.runtime.denoiser import Denoiser
from dae_edge.runtime.verify import verify_folder

QUICK = ExportOptions(validation_images=50)


def export_into(folder: Path, mnist) -> dict:
    return export(folder / "dae.keras", folder, QUICK, source=IdxSource(mnist, None), log=lambda line: None)


def test_a_versions_link_to_a_folder_outside_is_refused_and_nothing_there_is_deleted(exported_copy, tmp_path, mnist):
    outside = tmp_path / "x"
    os.rename(exported_copy / ".versions", outside)
    (outside / "my_project" / "src").mkdir(parents=True)
    (outside / "my_project" / "src" / "main.py").write_text("print('mine')\n")
    (exported_copy / ".versions").symlink_to(outside)
    with pytest.raises(DaeEdgeError, match=r"\.versions: not a folder that dae-edge export made"):
        export_into(exported_copy, mnist)
    assert (outside / "my_project" / "src" / "main.py").read_text() == "print('mine')\n"


def test_only_version_folders_inside_versions_are_removed(exported_copy, mnist):
    mine = exported_copy / ".versions" / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep")
    export_into(exported_copy, mnist)
    assert (mine / "keep.txt").read_text() == "keep"
    assert len([p for p in (exported_copy / ".versions").iterdir() if p.name.startswith("v")]) == 1


def test_files_an_old_manifest_names_are_never_deleted(exported_copy, mnist):
    """A plain manifest.json naming the model's own files as its artifact and extra files: they all stay."""
    keep = {name: (exported_copy / name).read_bytes() for name in ("contract.json", "config.json", "dae.keras")}
    manifest = json.loads((exported_copy / "manifest.json").read_text())
    manifest["artifacts"] = [{"file": "dae.keras", "sha256": "0" * 64, "precision": "fp32",
                              "extra_files": [{"file": "contract.json", "sha256": "1" * 64},
                                              {"file": "config.json", "sha256": "2" * 64}]}]
    (exported_copy / "manifest.json").unlink()
    (exported_copy / "manifest.json").write_text(json.dumps(manifest))
    export_into(exported_copy, mnist)
    assert {name: (exported_copy / name).read_bytes() for name in keep} == keep
    export_into(exported_copy, mnist)  # and it can be exported again
    assert all(c.status == "pass" for c in verify_folder(exported_copy))


def test_a_folder_where_an_artifact_belongs_is_refused_with_its_contents_kept(exported_copy, mnist):
    (exported_copy / "dae.tflite").unlink()
    (exported_copy / "dae.tflite").mkdir()
    (exported_copy / "dae.tflite" / "mine.txt").write_text("mine")
    with pytest.raises(DaeEdgeError, match=r"dae.tflite: something that dae-edge export did not publish .*\(a folder\)"):
        export_into(exported_copy, mnist)
    assert (exported_copy / "dae.tflite" / "mine.txt").read_text() == "mine"


def test_a_users_file_where_an_artifact_belongs_is_refused(exported_copy, mnist):
    (exported_copy / "dae.onnx").unlink()
    (exported_copy / "dae.onnx").write_bytes(b"the user's own model")
    with pytest.raises(DaeEdgeError, match=r"dae.onnx: something that dae-edge export did not publish"):
        export_into(exported_copy, mnist)
    assert (exported_copy / "dae.onnx").read_bytes() == b"the user's own model"


def test_published_folders_follow_the_umask(exported_copy, mnist):
    old = os.umask(0o022)
    try:
        export_into(exported_copy, mnist)
    finally:
        os.umask(old)
    version = (exported_copy / ".current").resolve()
    assert stat.S_IMODE(version.stat().st_mode) == 0o755  # others may read and enter, as they may read the files


def test_a_lock_that_is_a_link_is_refused_and_nothing_is_made_outside(exported_copy, tmp_path, mnist):
    target = tmp_path / "elsewhere.lock"
    (exported_copy / ".export.lock").unlink(missing_ok=True)
    (exported_copy / ".export.lock").symlink_to(target)
    with pytest.raises(DaeEdgeError, match="export lock"):
        export_into(exported_copy, mnist)
    assert not target.exists()


def test_a_current_link_outside_versions_is_refused_by_run_verify_and_export(exported_copy, tmp_path, mnist):
    outside = tmp_path / "outside"
    os.rename((exported_copy / ".current").resolve(), outside)
    (exported_copy / ".current").unlink()
    (exported_copy / ".current").symlink_to(outside)
    with pytest.raises(DaeEdgeError, match=r"\.current: points to .*not to a version inside"):
        Denoiser.load(exported_copy / "dae.onnx")
    with pytest.raises(DaeEdgeError, match=r"\.current"):
        list(verify_folder(exported_copy))
    with pytest.raises(DaeEdgeError, match=r"\.current: not the link that dae-edge export makes"):
        export_into(exported_copy, mnist)


def test_verify_and_load_read_one_version_while_an_export_switches(exported_copy, mnist):
    """verify yields one check at a time: switching .current between two checks must not mix two versions."""
    first = os.readlink(exported_copy / ".current")
    (exported_copy / ".versions" / "keep").mkdir()  # not a version folder: the next export leaves it
    checks = verify_folder(exported_copy)
    results = [next(checks)]
    os.rename(exported_copy / ".versions" / Path(first).name, exported_copy / ".versions" / "keep" / "v")
    export(exported_copy / "dae.keras", exported_copy, ExportOptions(int8=True, fp16=True, calibration_images=64,
                                                                     validation_images=40, seed=5),
           source=IdxSource(mnist, None), log=lambda line: None)
    os.rename(exported_copy / ".versions" / "keep" / "v", exported_copy / ".versions" / Path(first).name)
    results += list(checks)
    assert all(c.status == "pass" for c in results), [c for c in results if c.status != "pass"]
    denoiser = Denoiser.load(exported_copy / "dae.onnx")
    assert denoiser.path.parent.parent.name == ".versions"  # the version it resolved, read whole


def test_a_full_disk_is_one_line_and_a_new_folder_is_left_as_it_was(exported_copy, tmp_path, mnist, monkeypatch):
    out = tmp_path / "new"
    out.mkdir()
    for name in ("dae.keras", "config.json", "contract.json"):
        (out / name).write_bytes((exported_copy / name).read_bytes())

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    with pytest.raises(DaeEdgeError, match="could not write the export \\(No space left on device\\)"):
        export(out / "dae.keras", out, QUICK, source=IdxSource(mnist, None), log=lambda line: None)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "contract.json", "dae.keras"]


def test_a_manifest_the_runtime_would_refuse_is_never_published(exported_copy, mnist):
    contract = json.loads((exported_copy / "contract.json").read_text())
    before = os.readlink(exported_copy / ".current")
    contract["polarity"] = "sideways"
    (exported_copy / "contract.json").write_text(json.dumps(contract))
    with pytest.raises(DaeEdgeError, match="polarity 'sideways'"):
        export_into(exported_copy, mnist)
    assert os.readlink(exported_copy / ".current") == before


def test_remove_versions_touches_only_version_folders(tmp_path):
    versions = tmp_path / ".versions"
    for name in ("v20260101-000000-abc", "v20260101-000000-def", "mine", "v-not-ours"):
        (versions / name).mkdir(parents=True)
    (versions / "v20260101-000001-link").symlink_to(tmp_path)
    publish._remove_versions(versions, {"v20260101-000000-abc"})
    assert sorted(p.name for p in versions.iterdir()) == ["mine", "v-not-ours", "v20260101-000000-abc",
                                                          "v20260101-000001-link"]
