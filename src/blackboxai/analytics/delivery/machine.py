"""The machine's policy as an uploader run sees it: read afresh, not as the session that
launched the run read it. A policy that arrived since (a long session, a config in flight)
holds for everything still waiting: what waits for a service it turns off stays unsent, and
what the policy alone sent goes only while it still requires its collector."""

from __future__ import annotations

from blackboxai.analytics.queue.launch import UploadConfig
from blackboxai.policy import HOSTED, Policy, read_policy, system_policy
from blackboxai.terminal import shown

__all__ = ["ALL", "current", "still_required", "turned_off"]

ALL = "*"  # turned_off's key for every service: analytics are off on this machine


def current(config: UploadConfig) -> Policy | None:
    """The policy now: this machine's, looked up again; the file the session named; or None
    for a policy made in code (the config itself then says what it decided)."""
    if config.machine:
        return system_policy()
    return None if config.policy is None else read_policy(config.policy)


def turned_off(config: UploadConfig, policy: Policy | None) -> dict[str, str]:
    """Service name (or ALL) -> why what waits for it stays unsent: what the session's policy
    turned off, and what the policy now turns off."""
    named = shown(config.policy) if config.policy is not None else "the machine's policy"
    off = dict.fromkeys(config.turned_off, f"turned off by {named}")
    if policy is None:
        return off
    if policy.off is not None:
        return {ALL: policy.off}
    if not policy.hosted:
        off.update(dict.fromkeys(HOSTED, f"turned off by {policy.where}"))
    return off


def still_required(config: UploadConfig) -> bool:
    """Whether the policy still requires its collector (what it alone sent goes only then)."""
    policy = current(config)
    return config.required if policy is None else policy.otlp_required
