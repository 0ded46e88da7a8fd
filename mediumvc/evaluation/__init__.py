"""Measuring conversions the way papers do: SV accuracy at the EER threshold, speaker similarity,
intelligibility (ASR), predicted MOS, pitch and speed; baselines to compare against."""
