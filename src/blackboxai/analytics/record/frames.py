"""What an `exception` event may say about an error: its type and blackboxai's own frames."""

from __future__ import annotations

__all__ = ["exception_properties"]

_MAX_FRAMES = 20
_MAX_FRAMES_TEXT = 255  # Mixpanel's limit for a string property


def exception_properties(exc: BaseException) -> dict[str, str]:
    """Exception type and blackboxai frames only: never the message, args, locals or paths."""
    module, qualname = type(exc).__module__, type(exc).__qualname__
    kind = qualname if module in ("builtins", "") else f"{module}.{qualname}"
    frames: list[tuple[str, str, object]] = []
    tb = exc.__traceback__
    while tb is not None:
        mod = tb.tb_frame.f_globals.get("__name__")
        if isinstance(mod, str) and (mod == "blackboxai" or mod.startswith("blackboxai.")):
            frames.append((mod, tb.tb_frame.f_code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    return {"type": kind[:200], "frames": _frames_text(frames)}


def _frames_text(frames: list[tuple[str, str, object]]) -> str:
    """Innermost frame first, whole frames only, within what every backend keeps (Mixpanel cuts
    strings at 255 characters): the frame that raised is the one that must survive."""
    text = ""
    for module, function, line in reversed(frames[-_MAX_FRAMES:]):
        short = module.removeprefix("blackboxai.")
        frame = f"{short}:{function}:{line}"
        joined = f"{text} < {frame}" if text else frame
        if len(joined) > _MAX_FRAMES_TEXT:
            break
        text = joined
    return text
