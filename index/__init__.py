"""stemcell-qa index package."""

# `--ann auto` searches exactly below this many chunks and with HNSW from there (the
# measurements behind it are on `index.build.BuildSettings.hnsw_from`). Here, not there, so
# help texts can name it without importing FAISS.
HNSW_FROM = 20_000
