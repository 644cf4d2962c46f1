"""Software-defined assets and their checks: raw events → windows, templates → embeddings → clusters →
incidents (hourly partitions). Each asset reads its inputs, calls logintel, and attaches metadata."""
