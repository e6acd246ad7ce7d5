"""The render pool and its kept kernels (publish/pool.py, publish/execute.py KeptKernel), with the real engines:
a kernel kept for many documents renders each as a fresh kernel would, byte for byte, and forgets the last one;
a document that fails leaves the kernel usable; the pool's workers build what this process builds."""

import hashlib
import shutil
from pathlib import Path

import pytest

from pipeline.publish import pool
from pipeline.publish.execute import KeptKernel
from pipeline.publish.manifest import EPOCH_ENV, MANIFEST
from pipeline.publish.render import RenderError, render_document
from tests.unit.test_render import MINI, PARAMS, write

pytestmark = pytest.mark.skipif(shutil.which("quarto") is not None, reason="these tests cover the path without Quarto")


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.name != MANIFEST}


@pytest.fixture(scope="module")
def kept():
    kernel = KeptKernel()
    yield kernel
    kernel.close()


def test_a_kept_kernel_renders_as_a_fresh_one_and_forgets_the_last_document(tmp_path, kept, monkeypatch):
    monkeypatch.setenv(EPOCH_ENV, "1767225600")  # the PDF's and the workbook's dates: the same in every render
    fresh = tmp_path / "fresh"
    render_document(MINI, fresh, PARAMS, kernel=None)
    leaky = write(tmp_path, "leaky.qmd", "```{python}\nsecret = 'from the first document'\n```\n\nText.\n")
    render_document(leaky, tmp_path / "first", {}, formats=("html",), kernel=kept)
    first_kernel = kept.km.provisioner.pid if kept.km.provisioner else None
    again = tmp_path / "again"
    render_document(MINI, again, PARAMS, kernel=kept)
    assert kept.km.provisioner.pid == first_kernel  # the same kernel: its imports and browser were kept
    assert _digests(again) == _digests(fresh)
    peek = write(tmp_path, "peek.qmd", "```{python}\nsecret\n```\n")
    with pytest.raises(RenderError, match="NameError: name 'secret' is not defined"):
        render_document(peek, tmp_path / "peek", {}, formats=("html",), kernel=kept)


def test_a_failing_document_leaves_the_kept_kernel_usable(tmp_path, kept):
    broken = write(tmp_path, "broken.qmd", "```{python}\n#| label: boom\n1 / 0\n```\n")
    with pytest.raises(RenderError, match=r"cell 'boom' \(line 5 of broken\.qmd\) failed: ZeroDivisionError"):
        render_document(broken, tmp_path / "broken", {}, formats=("html",), kernel=kept)
    pid = kept.km.provisioner.pid
    done = render_document(MINI, tmp_path / "after", PARAMS, formats=("html",), kernel=kept)
    assert "Charlie has the most, 8,012." in done["html"].read_text(encoding="utf-8")
    assert kept.km.provisioner.pid == pid


def test_the_pool_builds_what_this_process_builds_and_reports_the_first_failure(tmp_path, monkeypatch):
    broken = write(tmp_path, "broken.qmd", "```{python}\n#| label: boom\n1 / 0\n```\n")

    def job(source: Path, name: str, params: dict) -> pool.Build:
        folder = tmp_path / name
        folder.mkdir()
        return pool.Build(source, folder, params, ("html", "pdf"), "report", None,
                          manifest={"shared": {"inputs": []}, "report": "mini", "partnership": name, "edition": "public",
                                    "disclosure": None},
                          audit_threshold=5, epoch="1767225600")

    monkeypatch.setenv(pool.WORKERS_ENV, "1")
    here = job(MINI, "here", PARAMS)
    assert pool.build_all([here]) == [[]]  # the mini document shows no small count
    monkeypatch.setenv(pool.WORKERS_ENV, "2")
    try:
        jobs = [job(MINI, "one", PARAMS), job(broken, "two", {}), job(MINI, "three", {**PARAMS, "area": "Elsewhere"})]
        with pytest.raises(RenderError, match="broken.qmd: cell 'boom'"):
            pool.build_all(jobs)
        assert _digests(jobs[0].building) == _digests(here.building)  # every job finished before the failure was raised
        assert "Elsewhere" in (jobs[2].building / "report.html").read_text(encoding="utf-8")
        assert (jobs[2].building / MANIFEST).is_file()
    finally:
        pool.shutdown()
