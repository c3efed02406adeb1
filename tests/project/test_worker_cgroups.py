"""The worker's entrypoint in docker-compose.yml prepares memory and pids cgroups for the sandboxes.

Run against a stand-in hierarchy (plain files where the kernel has its own): what it writes,
and that it always goes on to run the worker.
"""

import os
import subprocess

import yaml

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "worker-cgroups.sh"


def run_script(tmp_path, self_cgroup: str, controllers: str = "cpu io memory pids"):
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / "cgroup.procs").write_text("1\n77\n")
    (tmp_path / "self").write_text(self_cgroup + "\n")
    environment = {**os.environ, "CGROUP_ROOT": str(root), "CGROUP_SELF": str(tmp_path / "self")}
    finished = subprocess.run(
        ["sh", str(SCRIPT), "echo", "the worker runs"], env=environment, capture_output=True, text=True, check=True
    )
    return root, finished


def test_at_the_root_of_its_cgroup_namespace_it_moves_the_worker_into_a_leaf_and_turns_on_memory_and_pids(tmp_path):
    root, finished = run_script(tmp_path, "0::/")
    assert (root / "worker").is_dir()
    assert (root / "worker" / "cgroup.procs").read_text().strip() in ("1", "77")
    assert (root / "cgroup.subtree_control").read_text().strip() == "+memory +pids"
    assert finished.stdout == "the worker runs\n"
    assert "memory and pids cgroups are ready" in finished.stderr


def test_in_the_hosts_cgroup_namespace_it_touches_nothing_and_runs_the_worker(tmp_path):
    root, finished = run_script(tmp_path, "0::/system.slice/docker-1234.scope")
    assert not (root / "worker").exists()
    assert (root / "cgroup.subtree_control").read_text() == ""
    assert finished.stdout == "the worker runs\n"
    assert "sandboxes will run without cgroups" in finished.stderr


def test_without_the_memory_controller_it_says_so_and_runs_the_worker(tmp_path):
    root, finished = run_script(tmp_path, "0::/", controllers="cpu io pids")
    assert not (root / "worker").exists()
    assert finished.stdout == "the worker runs\n"
    assert "not delegated" in finished.stderr


def test_docker_compose_runs_the_worker_through_it_with_the_rights_it_needs():
    worker = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["worker"]
    assert worker["command"].startswith("sh scripts/worker-cgroups.sh celery -A attentive worker")
    assert "SYS_ADMIN" in worker["cap_add"]
    assert "apparmor=unconfined" in worker["security_opt"]
