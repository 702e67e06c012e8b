// The split-driver backends (being written).
