"""Suite-wide fixtures."""

import pytest

# fixtures shared by folders that have no common conftest below this one
pytest_plugins = ["sasl_fixtures"]


@pytest.fixture(scope="module", autouse=True)
def _fresh_shared_default():
    """Each test module starts from libvirt's test:///default objects, whatever an
    earlier module left open (test:///default is shared by one process's connections)."""
    from pyvirt.drivers.test.state import SHARED_DEFAULT
    SHARED_DEFAULT.reset_for_tests()
    yield


@pytest.fixture
def daemon_thread_class():
    """The in-process daemon runner ``make_daemon`` starts (a conftest may override it)."""
    from pyvirt.daemon.thread import DaemonThread
    return DaemonThread


@pytest.fixture
def make_daemon(tmp_path, daemon_thread_class):
    """Start pyvirtds in threads of the test process: sockets under ``tmp_path/run``,
    plain TCP on an ephemeral 127.0.0.1 port, no auth unless ``settings`` say so;
    all stopped after the test."""
    from pyvirt.daemon.config import DaemonConfig
    started = []

    def make(**settings):
        values = dict(unix_sock_dir=str(tmp_path / "run"), listen_tcp=True, listen_tls=False,
                      listen_addr="127.0.0.1", tcp_port=0, auth_tcp="none")
        values.update(settings)
        running = daemon_thread_class(DaemonConfig(**values)).start()
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
