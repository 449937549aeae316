"""One function per dvc.yaml stage: read params.yaml, call the library, write outputs atomically."""

STAGES = ("compose", "prepare", "train", "search", "select", "export", "package", "report")
