"""Fixtures of the Python module's tests: the synthetic scene (written once per session by
s2prep-scenegen), local servers playing Planetary Computer on 127.0.0.1, and the s2prep
command-line tool of the same build as the independent reference.

Environment: PYTHONPATH holds the built package; S2PREP_BIN and S2PREP_SCENEGEN_BIN name the
binaries (ctest sets all three)."""

import os
import signal
import subprocess
import sys
import time

import pytest

# No key, model folder or service URL leaks in from the shell that runs the tests (an empty
# value counts as unset for s2prep), for this process and the ones it starts.
for _name in ("PC_SDK_SUBSCRIPTION_KEY", "S2PREP_MODEL_DIR", "S2PREP_STAC_URL", "S2PREP_TOKEN_URL"):
    os.environ[_name] = ""

SCENE_SIZE = 480  # pixels per tile side: small tiles keep the suite fast
SCENE_SEED = 7


def _binary(variable):
    path = os.environ.get(variable, "")
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"{variable} does not name an executable (run these tests through ctest)")
    return path


@pytest.fixture(scope="session")
def s2prep_bin():
    return _binary("S2PREP_BIN")


@pytest.fixture(scope="session")
def scenegen_bin():
    return _binary("S2PREP_SCENEGEN_BIN")


@pytest.fixture(scope="session")
def scene(tmp_path_factory, scenegen_bin):
    """The standard synthetic scene: its folder and the demo region (lon/lat WKT)."""
    root = tmp_path_factory.mktemp("scene")
    subprocess.run(
        [scenegen_bin, "generate", "--out", str(root), "--size", str(SCENE_SIZE), "--seed", str(SCENE_SEED)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return root, (root / "region.wkt").read_text().strip()


class Server:
    """`s2prep-scenegen serve` on 127.0.0.1, stopped with SIGTERM."""

    def __init__(self, scenegen_bin, data, port_file, latency_ms=0):
        args = [scenegen_bin, "serve", "--data", str(data), "--port-file", str(port_file)]
        if latency_ms:
            args += ["--latency-ms", str(latency_ms)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not port_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"s2prep-scenegen serve ended with status {self.process.returncode}")
            time.sleep(0.02)
        self.base_url = port_file.read_text().strip()

    @property
    def services(self):
        """The parameters naming this server's STAC API and token service."""
        return {"stac_url": self.base_url + "/stac", "token_url": self.base_url + "/token"}

    @property
    def flags(self):
        return ["--stac-url", self.base_url + "/stac", "--token-url", self.base_url + "/token"]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait()


@pytest.fixture(scope="session")
def server(scene, scenegen_bin, tmp_path_factory):
    s = Server(scenegen_bin, scene[0], tmp_path_factory.mktemp("server") / "url")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def slow_server(scene, scenegen_bin, tmp_path_factory):
    """The scene served with 300 ms added to every request: a run takes long enough to be
    interrupted in the middle."""
    s = Server(scenegen_bin, scene[0], tmp_path_factory.mktemp("slow-server") / "url", latency_ms=300)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def cli(s2prep_bin):
    """Runs the s2prep command-line tool; returns the CompletedProcess (text)."""

    def run(*args, check=True):
        result = subprocess.run([s2prep_bin, *args], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"s2prep {' '.join(args)} ended with {result.returncode}:\n{result.stderr}")
        return result

    return run


@pytest.fixture(scope="session")
def python_env():
    """The environment of a Python subprocess that imports the package under test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
