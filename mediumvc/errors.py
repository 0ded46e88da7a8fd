"""Errors a user can act on. The CLI prints them as one line; anything else is a bug."""


class MediumVCError(Exception):
    """Base class: the message alone tells the user what went wrong and what to do."""


class AudioError(MediumVCError, ValueError):
    """An input recording cannot be used (unreadable, empty, silent, NaN, too short, too long)."""


class CheckpointError(MediumVCError):
    """A model directory or weight file is missing, truncated, or does not match its config."""


class DeviceError(MediumVCError, ValueError):
    """A device or precision that this machine or torch cannot give (no GPU, a misspelt name)."""
