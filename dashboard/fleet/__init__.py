"""The fleet and its data: compressors and sites, readings with their rollups and
partitions, time series, recordings, diagnosis history, notes, device tokens and
firmware releases. Every query is scoped by the organisation."""
