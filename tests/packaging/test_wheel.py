"""The package installs as a wheel, not only in place: content and catalogs travel with it.

The wheel is built from the tracked files (no .mo: the build compiles them) and installed into
a new virtualenv. That venv borrows the test venv's third-party packages through a path file,
so nothing is downloaded; our own packages come from the wheel alone, and the commands run
from another directory, so the source tree cannot stand in for a missing file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tracked_copy(destination: Path) -> Path:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return destination


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know the tracked files")
    work = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(work / "src")
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                    "--no-build-isolation", "--quiet", "-w", str(dist)],
                   check=True, capture_output=True, cwd=work)
    wheel = next(dist.glob("voisins-*.whl"))
    target = work / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True
                          ).stdout.strip()
    # Third-party packages (and pip) from the test venv, after the new venv's own.
    Path(site, "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)],
                   check=True, capture_output=True, cwd=work)
    return target


def _run(venv_dir: Path, cwd: Path, *args: str, stdin: str = ""
         ) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOISINS_")}
    env["VOISINS_DATABASE_URL"] = f"sqlite:///{cwd}/voisins.db"
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(venv_dir / "bin" / "voisins"), *args], input=stdin, cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=180)


def test_the_wheel_carries_content_catalogs_and_migrations(installed: Path,
                                                          tmp_path: Path) -> None:
    upgrade = _run(installed, tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "(3 questionnaires ready)" in upgrade.stdout

    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import bot, core; print(bot.__file__, core.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where and str(installed) in where

    chat = _run(installed, tmp_path, "chat", "--lang", "ar", stdin="/quit\n")
    assert chat.returncode == 0, chat.stderr
    # The introduction in Arabic, read from the compiled catalog inside the wheel.
    assert any("\u0600" <= char <= "\u06ff" for char in chat.stdout), chat.stdout
    mo_files = list(Path(where.split()[0]).parent.glob("i18n/locales/*/LC_MESSAGES/*.mo"))
    assert len(mo_files) == 5
