"""The syscall filter in both forms: BPF for bwrap and a Docker profile, from one list."""

from __future__ import annotations

import json

from eureka.sandbox import seccomp


def test_the_docker_profile_denies_the_list_and_allows_the_rest() -> None:
    profile = json.loads(seccomp.docker_profile())
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    denied = {name for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ERRNO" and "args" not in rule
              for name in rule["names"]}
    assert {"ptrace", "mount", "unshare", "setns", "bpf", "perf_event_open", "keyctl", "kexec_load"} <= denied
    clone_rules = [r for r in profile["syscalls"] if r["names"] == ["clone"]]
    assert len(clone_rules) == len(seccomp.NAMESPACE_FLAGS)


def test_the_bpf_program_is_built_in_this_process_for_the_launcher() -> None:
    program = seccomp.bpf_program()
    assert len(program) % 8 == 0 and len(program) > 8 * len(seccomp.DENIED)  # struct sock_filter: 8 bytes
    config = seccomp.launcher_config()
    assert bytes.fromhex(config["bpf_hex"]) == program and config["fd"] == seccomp.BWRAP_FD
