"""Item 5: `make python` imports the package from the tree; `make install`
puts it under the prefix's site-packages, where `import zoptic` finds the
installed libzoptic.so by itself (no PYTHONPATH to the tree, no BUILD)."""
import os
import subprocess
import sys

from conftest import BUILD, REPO


def test_make_python_and_install(tmp_path):
    env = dict(os.environ, ZPT_DEPS_DONE="1")
    env.pop("ZOPTIC_LIBRARY", None)
    p = subprocess.run(["make", "-s", "python", "BUILD=" + BUILD], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "import zoptic: ok" in p.stdout, p.stdout + p.stderr
    prefix = tmp_path / "prefix"
    p = subprocess.run(["make", "-s", "install", "BUILD=" + BUILD, "PREFIX=%s" % prefix],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    line = [l for l in p.stdout.splitlines() if "Python package installed in" in l]
    assert line, p.stdout
    site = line[0].split("installed in ")[1].split(" ")[0].rsplit("/zoptic", 1)[0]
    assert site.startswith(str(prefix)) and os.path.isdir(os.path.join(site, "zoptic"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BUILD")}
    env["PYTHONPATH"] = site
    q = subprocess.run([sys.executable, "-c", "import zoptic; print(zoptic.LIBRARY_PATH); "
                        "print(zoptic.__file__)"], cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=120)
    assert q.returncode == 0, q.stderr
    lib, init = q.stdout.split()
    assert lib == str(prefix / "lib" / "libzoptic.so") and init.startswith(site)
