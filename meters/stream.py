"""Cleaning readings that arrive block by block as if they had come in one piece.

A file read in blocks (or a live source polled every minute) cuts each sensor's readings at
arbitrary points. Two things would go wrong if each block were cleaned on its own: the first
reading of a block would cover a nominal interval instead of the time since the previous
reading, and the slot that spans the cut would be stored in two halves. So, per sensor:

- the last reading of a block is carried into the next one as *context*: its time starts the
  next reading's interval, its value is not counted again (it goes in as "no value");
- the last slot of a block stays open until the next block has added its part (the two
  covered spans are disjoint, so they add up); ``finish`` closes what is still open.

Within a block rows may come in any order (a live log interleaves sensors); they are ordered
by (sensor, time) here, cheaply when each sensor's rows are already chronological.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.metering import SLOT_SECONDS
from meters.cleaning import SensorSlots, clean_to_slots, nominal_interval

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CleanedBlock:
    """Complete slots (``sensor`` is the stream's code), and the fate of each reading."""

    slots: SensorSlots
    code: IntArray  # per reading of the block, in the caller's order
    reasons: npt.NDArray[np.int8]  # per reading: meters.cleaning.REASON_*


def combine_slot_parts(slots: SensorSlots) -> SensorSlots:
    """One row per (sensor, slot): parts with disjoint covered spans add up; overlapping
    parts are the same readings seen twice, and the better covered one wins (the rule of
    ``meters.store.merge_meter_slots``). Sorted by sensor, then slot."""
    if len(slots) == 0:
        return slots
    order = np.lexsort((slots.first_s, slots.slot, slots.sensor))
    slots = slots.take(order)
    same = (slots.sensor[1:] == slots.sensor[:-1]) & (slots.slot[1:] == slots.slot[:-1])
    if not same.any():
        return slots
    keep = np.ones(len(slots), dtype=bool)
    wh, covered = slots.wh.copy(), slots.covered_s.copy()
    first, last = slots.first_s.copy(), slots.last_s.copy()
    # Few rows share a slot (one per sensor and block boundary): a plain loop over them.
    for i in np.flatnonzero(same) + 1:
        head = i - 1
        while not keep[head]:
            head -= 1
        if first[i] >= last[head] or last[i] <= first[head]:
            wh[head] += wh[i]
            covered[head] = min(covered[head] + covered[i], float(SLOT_SECONDS))
            first[head], last[head] = min(first[head], first[i]), max(last[head], last[i])
        elif covered[i] > covered[head]:
            wh[head], covered[head] = wh[i], covered[i]
            first[head], last[head] = first[i], last[i]
        keep[i] = False
    return SensorSlots(slots.sensor[keep], slots.slot[keep], wh[keep], covered[keep],
                       first[keep], last[keep])


def order_by_sensor_and_time(code: IntArray, ts: FloatArray) -> IntArray:
    """A stable order by (code, time): a counting sort by code when each code's rows are
    already in time order (the usual case), a full sort otherwise."""
    small = code.astype(np.int16) if code.size and code.max() < 2**15 else code
    order = np.argsort(small, kind="stable")
    sorted_code, sorted_ts = code[order], ts[order]
    backwards = (np.diff(sorted_ts) < 0) & (sorted_code[1:] == sorted_code[:-1])
    if backwards.any():
        return np.lexsort((ts, code))
    return order


class ReadingStream:
    """The readings of a set of sensors (codes 0..n-1), block after block."""

    def __init__(self, sign: npt.ArrayLike, non_negative: npt.ArrayLike,
                 nominal_interval_s: float | None = None) -> None:
        self.sign = np.asarray(sign, dtype=np.float64)
        self.non_negative = np.asarray(non_negative, dtype=bool)
        self._context_code = np.zeros(0, dtype=np.int64)
        self._context_ts = np.zeros(0)
        self._open = SensorSlots.empty()
        # The sensors' period, read off the first block (as the cleaning would off the file).
        self._nominal = nominal_interval_s

    def add(self, code: IntArray, ts: FloatArray, watts: FloatArray) -> CleanedBlock:
        """Clean one block; returns the slots it completed."""
        n = int(code.size)
        reasons = np.zeros(n, dtype=np.int8)
        if n == 0:
            return CleanedBlock(SensorSlots.empty(), code, reasons)
        n_context = int(self._context_code.size)
        all_code = np.concatenate((self._context_code, code))
        all_ts = np.concatenate((self._context_ts, ts))
        all_watts = np.concatenate((np.full(n_context, np.nan), watts))
        order = order_by_sensor_and_time(all_code, all_ts)
        s_code, s_ts, s_watts = all_code[order], all_ts[order], all_watts[order]
        if self._nominal is None:
            self._nominal = nominal_interval(s_code, s_ts)
        slots, stats = clean_to_slots(s_code, s_ts, s_watts, sign=self.sign,
                                      non_negative=self.non_negative,
                                      nominal_interval_s=self._nominal, explain=True)
        assert stats.reasons is not None
        by_input = np.empty(all_code.size, dtype=np.int8)
        by_input[order] = stats.reasons
        reasons = by_input[n_context:]
        # The last reading of each code (of this block, or its context if it had none).
        last = np.flatnonzero(np.append(s_code[1:] != s_code[:-1], True))
        self._context_code, self._context_ts = s_code[last], s_ts[last]
        combined = combine_slot_parts(SensorSlots.concat([self._open, slots]))
        open_mask = np.ones(len(combined), dtype=bool)  # the last slot of each sensor
        open_mask[:-1] = combined.sensor[1:] != combined.sensor[:-1]
        self._open = combined.take(open_mask)
        return CleanedBlock(combined.take(~open_mask), code, reasons)

    def finish(self) -> SensorSlots:
        """The slots still open (the last of each sensor)."""
        slots, self._open = self._open, SensorSlots.empty()
        return slots
