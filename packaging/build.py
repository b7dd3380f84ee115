"""Build the firmware overlay: the wheel, a venv for /opt/powerctl, the system files, one tarball.

`make image` runs this; docs/firmware.md explains the layout and the choices behind it.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = REPO / "packaging"
LOCK = HERE / "requirements.txt"
PREFIX = "opt/powerctl"  # the venv, relative to the overlay's root
OWNED_DIRS = (PREFIX, "etc/powerctl")  # directories the overlay creates; others it only fills
SYSTEM_FILES = {
    "etc/powerctl/powerctl.toml": HERE / "powerctl.toml",
    "usr/lib/systemd/system/powerctl.service": HERE / "powerctl.service",
    "usr/lib/sysusers.d/powerctl.conf": HERE / "sysusers.conf",
    "usr/lib/tmpfiles.d/powerctl.conf": HERE / "tmpfiles.conf",
    f"{PREFIX}/share/doc/powerctl/firmware.md": REPO / "docs" / "firmware.md",
}
# pip's own header for scripts it cannot give a #! line: sh runs the python beside the script,
# so the venv works at /opt/powerctl and wherever else the overlay is unpacked (tests).
LAUNCHER = b'#!/bin/sh\n\'\'\'exec\' "$(dirname -- "$(readlink -f -- "$0")")/python" "$0" "$@"\n\' \'\'\'\n'


def run(*args: object, env: dict | None = None) -> str:
    # Only this script's own command lines (git, pip, venv, compileall), never outside input.
    done = subprocess.run(  # noqa: S603
        [str(arg) for arg in args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH if set, else the time of the last commit."""
    given = os.environ.get("SOURCE_DATE_EPOCH")
    return int(given) if given else int(run("git", "-C", REPO, "log", "-1", "--format=%ct"))


def offline_env() -> dict:
    """pip without this machine's configuration: only the wheelhouse may supply packages.

    PYTHONPATH goes too: a checkout on it would look installed to pip, which would skip the wheel.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PIP_") and key not in ("PYTHONPATH", "PYTHONHOME")
    }
    return dict(env, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")


def build_wheel(dist: Path, epoch: int) -> Path:
    """The device wheel, made from an sdist with pinned setuptools, so no stale build/ file slips
    in; POWERCTL_WHEEL=device leaves the fleet server out (setup.py)."""
    env = dict(
        os.environ,
        SOURCE_DATE_EPOCH=str(epoch),
        PIP_CONSTRAINT=str(HERE / "build-constraints.txt"),
        POWERCTL_WHEEL="device",
    )
    with tempfile.TemporaryDirectory() as out:
        run(sys.executable, "-m", "build", "--outdir", out, REPO, env=env)
        wheel = next(Path(out).glob("powerctl-*.whl"))
        dist.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(wheel, dist / wheel.name))


def fetch_wheels(wheelhouse: Path) -> None:
    """Download the locked runtime packages, as wheels only: no compiler runs in an image build."""
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--no-deps",
        "--dest",
        wheelhouse,
        "-r",
        LOCK,
    )


def install(prefix: Path, wheel: Path, wheelhouse: Path) -> None:
    """A venv at prefix holding exactly the lock and the wheel, checked for missing packages."""
    run(sys.executable, "-m", "venv", "--without-pip", prefix)
    pip = [sys.executable, "-m", "pip", "--python", prefix / "bin" / "python"]
    run(
        *pip,
        "install",
        "--quiet",
        "--no-compile",
        "--no-warn-script-location",
        "--no-index",
        "--find-links",
        wheelhouse,
        "--only-binary=:all:",
        "--no-deps",
        "-r",
        LOCK,
        wheel,
        env=offline_env(),
    )
    run(*pip, "check", env=offline_env())


def relocate(prefix: Path, python: str) -> None:
    """Take every mention of the build directory out of the venv and point it at `python`."""
    changed: dict[Path, bytes | None] = {}  # file -> new content, None when removed
    for script in sorted((prefix / "bin").iterdir()):
        if script.is_symlink():
            script.unlink()
        elif script.name.lower().startswith("activate"):
            script.unlink()  # activation scripts name the build directory; a service needs none
        else:
            first, _, rest = script.read_bytes().partition(b"\n")
            if first.startswith(b"#!") and str(prefix).encode() in first:
                changed[script] = LAUNCHER + rest
                script.write_bytes(LAUNCHER + rest)
    version = "{}.{}".format(*sys.version_info)
    (prefix / "bin" / "python").symlink_to(python)
    for alias in ("python3", f"python{version}"):
        (prefix / "bin" / alias).symlink_to("python")
    (prefix / "pyvenv.cfg").write_text(
        f"home = {Path(python).parent}\ninclude-system-site-packages = false\n"
        f"version = {'.'.join(map(str, sys.version_info[:3]))}\n"
    )
    site = prefix / "lib" / f"python{version}" / "site-packages"
    for direct in site.glob("*.dist-info/direct_url.json"):  # PEP 610: where the wheel was
        direct.unlink()
        changed[direct] = None
    for record in sorted(site.glob("*.dist-info/RECORD")):
        rewrite_record(record, site, changed)


def rewrite_record(record: Path, site: Path, changed: dict[Path, bytes | None]) -> None:
    """Give changed files their new hash and size in RECORD, and drop removed ones."""
    with open(record, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    out = []
    for row in rows:
        where = Path(os.path.normpath(site / row[0]))
        if where not in changed:
            out.append(row)
        elif (content := changed[where]) is not None:
            digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
            out.append([row[0], f"sha256={digest}", str(len(content))])
    with open(record, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(out)


def compile_all(root: Path, prefix: Path) -> None:
    """Byte-code naming the device's paths, stamped with source hashes instead of times."""
    # A fixed hash seed keeps set and frozenset constants in one order from build to build.
    env = dict(os.environ, PYTHONHASHSEED="0")
    run(
        sys.executable,
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "checked-hash",
        "-s",
        root,
        "-p",
        "/",
        prefix / "lib",
        env=env,
    )


def add_system_files(root: Path) -> None:
    for where, source in SYSTEM_FILES.items():
        target = root / where
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def entries(root: Path) -> list[Path]:
    """Everything to pack, sorted; shared directories such as usr/lib are filled, not listed."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in [*dirs, *files]:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if (
                path.is_dir()
                and not path.is_symlink()
                and not any(rel == owned or rel.startswith(owned + "/") for owned in OWNED_DIRS)
            ):
                continue
            found.append(path)
    return sorted(found, key=lambda path: path.relative_to(root).as_posix())


def write_tarball(root: Path, target: Path, epoch: int) -> None:
    """A tar.gz whose bytes depend only on the files: fixed owner, times, modes and order."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(target, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=epoch) as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in entries(root):
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = epoch, 0, 0, "root", "root"
            if path.is_symlink():
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
                tar.addfile(info)
            elif path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = path.stat().st_size
                info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)


def lock(wheel: Path) -> None:
    """Rewrite the lock from what pip resolves today for the wheel."""
    with tempfile.TemporaryDirectory() as venv:
        run(sys.executable, "-m", "venv", "--without-pip", venv)
        pip = [sys.executable, "-m", "pip", "--python", Path(venv) / "bin" / "python"]
        # with AutoPing's ICMP checks (the autoping extra): the unit grants CAP_NET_RAW for them
        run(*pip, "install", "--quiet", "--only-binary=:all:", f"{wheel}[autoping]")
        frozen = run(*pip, "freeze", "--exclude", "powerctl")
    LOCK.write_text(
        "# The runtime packages of the firmware image, exactly; `make image-lock` rewrites this.\n" + frozen
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="output folder")
    parser.add_argument(
        "--python",
        default="/usr/bin/python3",
        help="the device's interpreter, the same X.Y as this one (%(default)s)",
    )
    parser.add_argument("--wheelhouse", type=Path, help="keep the downloaded wheels here")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="download nothing: the wheelhouse already holds the locked wheels",
    )
    parser.add_argument("--wheel", type=Path, help="pack this powerctl wheel instead of building one")
    parser.add_argument("--lock", action="store_true", help="only rewrite packaging/requirements.txt")
    args = parser.parse_args(argv)
    epoch = source_date_epoch()
    wheel = (args.wheel or build_wheel(args.dist, epoch)).resolve()
    if args.lock:
        lock(wheel)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        wheelhouse = args.wheelhouse or Path(scratch) / "wheelhouse"
        if not args.offline:
            fetch_wheels(wheelhouse)
        root = Path(scratch) / "root"
        install(root / PREFIX, wheel, wheelhouse)
        relocate(root / PREFIX, args.python)
        compile_all(root, root / PREFIX)
        add_system_files(root)
        overlay = args.dist / f"powerctl-overlay-{wheel.name.split('-')[1]}.tar.gz"
        write_tarball(root, overlay, epoch)
    print(f"{hashlib.sha256(overlay.read_bytes()).hexdigest()}  {overlay}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
