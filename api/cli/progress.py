"""Progress bars for fan-outs (a broadcast, a workshop invitation) in the terminal:

    sending   [##################..........]  62%  sent 180 of 312, 3 failed, 129 waiting
      telegram  [############################] 240/240
      sms       [###.........................]  12/72
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WIDTH = 28


def bar(done: int, total: int, width: int = WIDTH) -> str:
    filled = round(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


def progress_lines(status: str, delivery: Mapping[str, Any], width: int = WIDTH
                   ) -> list[str]:
    """The bar of a fan-out's delivery counts (``core.progress.DeliveryCounts.as_dict``):
    settled messages (sent, failed, held back) over all, then one bar per channel."""
    total = int(delivery["total"])
    settled = total - int(delivery["waiting"])
    percent = f"{round(100 * settled / total) if total else 100:3d}%"
    words = f"sent {delivery['sent']} of {total}"
    for name, label in (("failed", "failed"), ("held_back", "held back"),
                        ("waiting", "waiting")):
        if delivery[name]:
            words += f", {delivery[name]} {label}"
    lines = [f"{status:<10}{bar(settled, total, width)} {percent}  {words}"]
    channels: Mapping[str, Mapping[str, int]] = delivery.get("by_channel", {})
    digits = len(str(max([total, 1])))
    for channel, counts in channels.items():
        done = counts["total"] - counts["waiting"]
        lines.append(f"  {channel:<10}{bar(done, counts['total'], width)} "
                     f"{done:>{digits}}/{counts['total']}")
    return lines
